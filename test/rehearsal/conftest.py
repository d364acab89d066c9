"""Set-up of the rehearsal tests: fake credentials, the rehearsal tool and the Python test helpers on the path."""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

os.environ.update({
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
})
os.environ.pop("AWS_PROFILE", None)
sys.path[:0] = [str(REPO_ROOT / "tools" / "rehearsal"), str(REPO_ROOT / "test" / "python"),
                str(REPO_ROOT / "src" / "runtime")]
