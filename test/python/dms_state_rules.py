"""Three gaps of moto 5.2.1 that concurrency tests run into, closed for the test harness.

1. DMS task state rules. moto starts a replication task whatever its state (a start on a running task just runs it
   again). DMS does not: StartReplicationTask needs a task that is `ready`, `stopped` or `failed`, and
   StopReplicationTask a task that is `running` (or still `starting`); otherwise both raise
   InvalidResourceStateFault ("The resource is in a state that prevents it from being used for database migration",
   DMS API Reference, StartReplicationTask / StopReplicationTask, Errors; task states: "Task status", DMS User
   Guide). `enforce_dms_task_state_rules` makes moto's backend apply these rules, so a test in which two actors
   start one task sees the second start refused, as on AWS.

2. More than one execution of one state machine. moto's parser backend deep-copies the state machine for every
   StartExecution, and with it the list of its earlier executions, whose worker threads hold an RLock: the second
   StartExecution fails with "cannot pickle '_thread.RLock' object". An execution runs a snapshot of the state
   machine's definition and settings, never the earlier executions, so `allow_concurrent_executions` copies the
   state machine without them.

3. Atomic conditional writes. DynamoDB applies each write, its condition included, atomically ("Condition
   expressions", DynamoDB Developer Guide: a conditional write succeeds only if the condition holds when it is
   applied). moto checks the condition and then writes, without a lock, so two execution threads could both pass one
   condition; `atomic_dynamodb_writes` applies moto's writes one at a time.
"""

import copy
import threading

from moto.dms import models as dms_models
from moto.dynamodb import models as dynamodb_models
from moto.dms.exceptions import InvalidResourceStateFault
from moto.stepfunctions import models as sfn_models

# "Task status" (DMS User Guide) and StartReplicationTask (DMS API Reference): a task can be started (start,
# resume or reload) from these states only.
STARTABLE = frozenset({"ready", "stopped", "failed"})
# StopReplicationTask: only a task that runs (or is still starting) can be stopped.
STOPPABLE = frozenset({"running", "starting"})

# moto's backend is shared by every execution thread; one lock makes each state check-and-change atomic, as it is
# on AWS (DMS accepts one of two concurrent starts, never both).
_task_state_lock = threading.Lock()


def enforce_dms_task_state_rules(monkeypatch):
    original_start = dms_models.DatabaseMigrationServiceBackend.start_replication_task
    original_stop = dms_models.DatabaseMigrationServiceBackend.stop_replication_task

    def start_replication_task(backend, replication_task_arn, *args, **kwargs):
        with _task_state_lock:
            task = backend.replication_tasks.get(replication_task_arn)
            if task is not None and task.status not in STARTABLE:
                raise InvalidResourceStateFault(
                    f"Replication task is in state {task.status}; it can be started only when "
                    f"{', '.join(sorted(STARTABLE))}")
            return original_start(backend, replication_task_arn, *args, **kwargs)

    def stop_replication_task(backend, replication_task_arn, *args, **kwargs):
        with _task_state_lock:
            task = backend.replication_tasks.get(replication_task_arn)
            if task is not None and task.status not in STOPPABLE:
                raise InvalidResourceStateFault(
                    f"Replication task is in state {task.status}; it can be stopped only when "
                    f"{' or '.join(sorted(STOPPABLE))}")
            if task is not None and task.status == "starting":
                task.status = "running"  # moto's stop() accepts running only; DMS stops a starting task too
            return original_stop(backend, replication_task_arn, *args, **kwargs)

    monkeypatch.setattr(dms_models.DatabaseMigrationServiceBackend, "start_replication_task", start_replication_task)
    monkeypatch.setattr(dms_models.DatabaseMigrationServiceBackend, "stop_replication_task", stop_replication_task)


def _copy_without_executions(state_machine, memo):
    clone = state_machine.__class__.__new__(state_machine.__class__)
    memo[id(state_machine)] = clone
    for name, value in state_machine.__dict__.items():
        setattr(clone, name, [] if name == "executions" else copy.deepcopy(value, memo))
    return clone


def allow_concurrent_executions(monkeypatch):
    monkeypatch.setattr(sfn_models.StateMachineInstance, "__deepcopy__", _copy_without_executions, raising=False)


_dynamodb_write_lock = threading.RLock()


def atomic_dynamodb_writes(monkeypatch):
    backend = dynamodb_models.DynamoDBBackend
    for name in ("put_item", "update_item", "delete_item", "get_item"):
        original = getattr(backend, name)

        def serialized(self, *args, _original=original, **kwargs):
            with _dynamodb_write_lock:
                return _original(self, *args, **kwargs)
        monkeypatch.setattr(backend, name, serialized)
