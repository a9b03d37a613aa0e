"""One Jupyter kernel for a whole run, and the papermill engine that runs notebooks in it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from gapkit.errors import GapkitError


class KernelError(GapkitError):
    """The shared kernel could not be prepared for the next notebook."""


class SharedKernel:
    """One kernel for the whole suite, its namespace cleared before each notebook.

    Starting a kernel and importing pandas, statsmodels and gapkit costs about 5 s; paying it
    once instead of once per notebook takes about 15 s off a run. Each notebook still starts
    from an empty namespace with execution counts from 1, as in a fresh kernel; only imported
    modules are kept.
    """

    RESET = "get_ipython().run_line_magic('reset', '-f')\nget_ipython().execution_count = 1"

    def __init__(self, cwd: Path, kernel_name: str = "python3"):
        from jupyter_client.manager import KernelManager

        _register_engine()
        tick = time.perf_counter()
        # local sockets rather than TCP: nothing listens on the network, and the kernel has no
        # "running over TCP without encryption" warning to print on every run
        self._sockets = tempfile.mkdtemp(prefix="gapkit-kernel-")
        self.manager = KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(self._sockets, "k"))
        # no history database: with execution counts restarted at 1 for each notebook, IPython's
        # history would print "ERROR! Session/line number was not unique" into a report now and then
        self.manager.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.enabled=False"])
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)
        self.started_in = round(time.perf_counter() - tick, 2)

    def reset(self) -> None:
        reply = self.client.execute_interactive(self.RESET, store_history=False, timeout=120,
                                                 output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise KernelError(f"could not clear the kernel between notebooks: {reply['content']}")

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._sockets, ignore_errors=True)


SHARED_KERNEL_ENGINE = "gapkit-shared-kernel"


def _register_engine() -> None:
    """papermill's nbclient engine, but closing each notebook's client of the shared kernel.

    nbclient leaves the client of a kernel it does not own connected; with one kernel for four
    notebooks that left four clients' sockets and heartbeat threads open per run.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class SharedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            options = merge_kwargs(remove_args(["input_path", "timeout", "startup_timeout"], **kwargs),
                                   timeout=execution_timeout or kwargs.get("timeout"), startup_timeout=start_timeout,
                                   kernel_name=kernel_name, log=logger, log_output=log_output,
                                   stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, **options)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(SHARED_KERNEL_ENGINE, SharedKernelEngine)
