"""Test setup: fake AWS credentials, moto, and a clean handler state for every test."""

import os
import sys
from pathlib import Path

# Fake credentials and a fixed region before anything builds a boto3 session, so a test
# can never reach a real account.
os.environ.update({
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
})
os.environ.pop("AWS_PROFILE", None)

# The handlers are single files that Lambda loads as index.py; import them by file name.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src" / "runtime"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import speedups  # noqa: E402

speedups.apply()

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402

import glue_trigger  # noqa: E402
import remediation  # noqa: E402
import step_function_trigger  # noqa: E402
import table_review  # noqa: E402
from pipeline_helpers import REGION, AlertCapture, AuditCapture  # noqa: E402
from local_glue import LocalSpark  # noqa: E402

HANDLER_MODULES = (glue_trigger, step_function_trigger, remediation, table_review)
HANDLER_ENV_VARS = (
    "GLUE_JOB_NAME", "VALIDATION_TOPIC_ARN", "REPORT_PREFIX", "INCOMING_PREFIX", "STATE_MACHINE_ARN",
    "ALERT_TOPIC_ARN", "DATA_BUCKET", "QUARANTINE_PREFIX", "MAX_DMS_RESUMES", "MAX_REDRIVES",
    "AUDIT_EVENT_BUS", "PIPELINE_NAME", "REPLICATION_TASK_ARN", "MIGRATION_TYPE", "REPORT_BUCKET",
    "ACCEPT_TABLES_WITHOUT_VALIDATION",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)  # set by Lambda; the handlers read it first
    for name in HANDLER_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_clients():
    """Handlers cache their boto3 clients; each test starts (and leaves) with none."""
    for module in HANDLER_MODULES:
        module._clients.clear()
    yield
    for module in HANDLER_MODULES:
        module._clients.clear()


@pytest.fixture
def aws():
    with mock_aws():
        yield
    # Undo any state-transition tweak a test made (e.g. keeping Glue runs in STARTING).
    state_manager.unset_transition("glue::job_run")


@pytest.fixture
def audit_events(aws):
    return AuditCapture()


@pytest.fixture
def alerts(aws):
    return AlertCapture()


@pytest.fixture(scope="session")
def local_spark(tmp_path_factory):
    """One local Spark session (local[2]) for the whole run: starting one takes seconds; see local_glue.py."""
    spark = LocalSpark.start(tmp_path_factory.mktemp("spark-s3-copies"))
    yield spark
    spark.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: the test runs the Glue script in the local Spark session")


def pytest_collection_modifyitems(items):
    """Marks the tests that use the local Spark session, so a run can leave them out (`-m "not spark"`): the mutation
    testing forks a process per mutant, and a forked child cannot share the parent's connection to Spark's JVM."""
    for item in items:
        if "local_spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
