"""Set-up of the rehearsal tests: fake credentials, the rehearsal tool and the Python test helpers on the path, and
the fixtures every rehearsal test file shares (one local Spark session per test process)."""

import os
import sys
from pathlib import Path

import pytest

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

import speedups  # noqa: E402 - found through the path above

speedups.apply()


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    import local_glue

    session = local_glue.LocalSpark.start(tmp_path_factory.mktemp("spark-copies"))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def example():
    out = REPO_ROOT / "cdk.out"
    if not (out / "manifest.json").is_file():
        raise FileNotFoundError(f"{out} has no cloud assembly; run `npx cdk synth --quiet` first")
    return out


@pytest.fixture
def bring_up(monkeypatch, spark):
    """Brings a cloud assembly's pipeline up in moto: bring_up(cdk_out, dms_scenario="validated") -> Pipeline."""
    from moto import mock_aws

    from pipeline import Pipeline

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield lambda cdk_out, scenario="validated": Pipeline(cdk_out, "TapStack", spark, scenario, monkeypatch)
