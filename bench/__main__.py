"""``python -m bench``: see bench/run.py."""
import os

# one core, set before numpy / OpenCV / onnxruntime load
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "AUTOPOSTER_ORT_THREADS"):
    os.environ[var] = "1"

from bench.run import main  # noqa: E402

raise SystemExit(main())
