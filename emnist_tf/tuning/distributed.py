"""KerasTuner's own distributed mode: one chief oracle, workers over gRPC.

Every process runs the same ``emnist-tf tune`` command; three environment
variables decide its role (KerasTuner reads them itself):

* ``KERASTUNER_TUNER_ID``: ``chief`` for the oracle, any other unique name
  (``worker0``, ``worker1``...) for a worker.
* ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: where the chief listens.

Every strategy works this way. For the greedy strategy the chief serves the stages one after
the other on the same address (:class:`StagedServer`): a stage's candidates are spread over the
workers, and the next stage starts once every one of them has ended and the winner is known.

The chief only hands out trials and records results (``results.csv``, the report
and the final model are written by the chief once every trial has ended); the
workers train. A worker that dies mid-trial can be restarted with the same
``KERASTUNER_TUNER_ID``: the chief hands it the same trial again.

KerasTuner's own server loop polls every 20 s once the last trial has been handed
out; :func:`serve_oracle` does the same with the same servicer, polling every half
second, so that a sweep's last seconds are not spent waiting.
"""

from __future__ import annotations

import os
import time
from concurrent import futures

TUNER_ID_ENV = "KERASTUNER_TUNER_ID"
ORACLE_IP_ENV = "KERASTUNER_ORACLE_IP"
ORACLE_PORT_ENV = "KERASTUNER_ORACLE_PORT"


def role() -> str:
    """Returns "single", "chief" or "worker" from the KerasTuner environment variables.

    Raises:
        ValueError: when the oracle address is set but the port or tuner id is missing.
    """
    if ORACLE_IP_ENV not in os.environ:
        return "single"
    missing = [name for name in (ORACLE_PORT_ENV, TUNER_ID_ENV) if not os.environ.get(name)]
    if missing:
        raise ValueError(
            f"{ORACLE_IP_ENV} is set but {' and '.join(missing)} is not; set all three KerasTuner variables or none"
        )
    return "chief" if "chief" in os.environ[TUNER_ID_ENV] else "worker"


def environment(tuner_id: str, port: int, ip_address: str = "127.0.0.1") -> dict[str, str]:
    """The variables that make a process the chief (``tuner_id="chief"``) or a worker.

    Example:
        >>> environment("worker0", 8000)["KERASTUNER_ORACLE_PORT"]
        '8000'
    """
    return {TUNER_ID_ENV: tuner_id, ORACLE_IP_ENV: ip_address, ORACLE_PORT_ENV: str(port)}


def serve_oracle(oracle, poll_seconds: float = 0.5) -> None:
    """Serves ``oracle`` to the workers until every trial has ended and every worker left."""
    import grpc

    from emnist_tf.tuning import kt_adapter

    address = f"{os.environ[ORACLE_IP_ENV]}:{os.environ[ORACLE_PORT_ENV]}"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer, add_to_server, exit_chief = kt_adapter.oracle_server(oracle)
    add_to_server(servicer, server)
    if server.add_insecure_port(address) == 0:
        raise ValueError(f"the chief cannot listen on {address}; choose a free {ORACLE_PORT_ENV}")
    server.start()
    print(f"[tune] chief oracle listening on {address}", flush=True)
    try:
        while not (servicer.stop_triggered and exit_chief(oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=1)


class StagedOracle:
    """What the chief serves during a distributed greedy sweep: each stage's oracle in turn.

    Workers run one long search against it. While a stage's last trials are still running, or
    while the chief prepares the next stage from the winner, a worker that asks for a trial is
    told to wait (KerasTuner's ``IDLE``); only after the last stage is every worker told to stop.
    Every other request goes to the current stage's oracle.
    """

    def __init__(self, first_stage_oracle, wait_seconds: float = 0.5):
        self.current = first_stage_oracle
        self.finished = False
        self.wait_seconds = wait_seconds
        self.workers: set[str] = set()
        self.stopped: set[str] = set()

    def __getattr__(self, name):
        return getattr(self.current, name)

    def create_trial(self, tuner_id):
        from emnist_tf.tuning import kt_adapter

        self.workers.add(tuner_id)
        trial = self.current.create_trial(tuner_id)
        if trial.status == kt_adapter.TrialStatus.IDLE:  # the stage's next rung waits for running trials
            time.sleep(self.wait_seconds)
        if trial.status != kt_adapter.TrialStatus.STOPPED:
            return trial
        if self.finished:
            self.stopped.add(tuner_id)
            return trial
        time.sleep(self.wait_seconds)  # the servicer's one thread: also paces a waiting worker's requests
        return kt_adapter.Trial(self.current.get_space(), status=kt_adapter.TrialStatus.IDLE)

    def stage_done(self) -> bool:
        """True when the current stage has ended every trial it needs."""
        return self.current.stage_finished()

    def all_workers_stopped(self) -> bool:
        return self.finished and self.workers <= self.stopped


class StagedServer:
    """The chief's gRPC server for a distributed greedy sweep (one server for every stage)."""

    def __init__(self, first_stage_oracle, poll_seconds: float = 0.5):
        import grpc

        from emnist_tf.tuning import kt_adapter

        self.oracle = StagedOracle(first_stage_oracle)
        self.poll_seconds = poll_seconds
        address = f"{os.environ[ORACLE_IP_ENV]}:{os.environ[ORACLE_PORT_ENV]}"
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        servicer, add_to_server, _ = kt_adapter.oracle_server(self.oracle)
        add_to_server(servicer, self.server)
        if self.server.add_insecure_port(address) == 0:
            raise ValueError(f"the chief cannot listen on {address}; choose a free {ORACLE_PORT_ENV}")
        self.server.start()
        print(f"[tune] chief oracle listening on {address} (greedy: one stage at a time)", flush=True)

    def serve_stage(self, oracle) -> None:
        """Hands out the trials of ``oracle`` (a :class:`~.oracles.CandidateOracle`) until its stage ends."""
        self.oracle.current = oracle
        while not self.oracle.stage_done():
            time.sleep(self.poll_seconds)

    def finish(self, grace_seconds: float = 60.0) -> None:
        """Tells every worker to stop (as they next ask), then shuts the server down."""
        self.oracle.finished = True
        deadline = time.monotonic() + grace_seconds
        while not self.oracle.all_workers_stopped() and time.monotonic() < deadline:
            time.sleep(self.poll_seconds)
        self.server.stop(grace=1)
