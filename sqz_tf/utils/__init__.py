"""Small helpers shared across sqz_tf."""
