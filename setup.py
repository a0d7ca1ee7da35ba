"""sqz_tf: SqueezeBERT in TensorFlow / Keras 2."""

import setuptools

setuptools.setup(
    name="sqz_tf",
    version="0.1.0",
    description=("SqueezeBERT (arXiv 2006.11316) in TensorFlow/Keras: "
                 "pretraining, GLUE finetuning, HF checkpoint conversion and "
                 "int8 TFLite export"),
    packages=setuptools.find_packages(include=["sqz_tf", "sqz_tf.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow==2.21.*",
        "tf-keras==2.21.*",
        "tensorflow-text==2.21.*",
        "tensorflow-model-optimization==0.8.*",
        "absl-py>=1.4",
        "tensorboard",  # summaries; TensorFlow 2.21 no longer pulls it in
        "numpy",
        "safetensors>=0.4",
        "ai-edge-litert>=2.0",
        "scikit-learn",  # GLUE metrics
        "scipy",
        "matplotlib",  # the host benchmark's latency plot
        "sentencex>=1.0",  # sentence splitting in prepare_corpus
    ],
    extras_require={
        # MediaPipe Tasks metadata (export_tflite --metadata) and runtime.
        # The mediapipe wheel itself is installed apart, with --no-deps
        # (README): every mediapipe release pins absl-py~=2.3 (0.10.30 on)
        # or protobuf<5 (before), while tensorflow-model-optimization 0.8
        # pins absl-py~=1.2 and TensorFlow 2.21 needs protobuf>=6.31, so pip
        # finds no set with both. mediapipe 1.2.3 uses absl only in a
        # command-line tool; of its other requirements, importing it needs
        # cv2 (any OpenCV; headless needs no display libraries), and numpy,
        # flatbuffers, matplotlib and certifi come with ours.
        "mediapipe": ["opencv-python-headless"],
        "test": [
            "pytest>=8",
            "pytest-xdist>=3",  # pytest.ini runs the suite on 2 workers
            # The CPU build; a bare "torch" pulls a multi-GB CUDA build.
            "torch==2.13.0",
            "transformers>=5",
            "opencv-python-headless",  # = the mediapipe extra
        ],
    },
)
