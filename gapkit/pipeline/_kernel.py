"""One Jupyter kernel for a whole run, and the papermill engine that runs notebooks in it."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
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

    # the previous notebook's tables are freed and handed back to the system: a notebook run
    # beside this kernel, and the next one here, need that memory
    RESET = ("get_ipython().run_line_magic('reset', '-f')\n"
             "from gapkit.pipeline.steps import release_memory as _release\n_release()\ndel _release\n"
             "get_ipython().execution_count = 1")

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
        if self._sockets is None:  # already shut down
            return
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._sockets, ignore_errors=True)
        self._sockets = None

    def peak_bytes(self) -> int | None:
        """The kernel process's peak resident memory so far (Linux), else None."""
        pid = getattr(self.manager.provisioner, "pid", None)
        return _proc_kib(f"/proc/{pid}/status", "VmHWM") if pid else None


class Beside:
    """One notebook run on a thread in a kernel of its own, beside those the run goes on with.

    ``job(kernel)`` runs the notebook; :meth:`join` waits for it and raises what it raised;
    :meth:`stop` ends it early (its kernel shut down) when the rest of the run failed.
    """

    def __init__(self, job, cwd: Path):
        self.kernel = SharedKernel(cwd)
        self.name = ""
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(job,), name="gapkit-beside", daemon=True)
        self._thread.start()

    def _run(self, job) -> None:
        try:
            job(self.kernel)
        except BaseException as error:  # handed to the run's thread by join()
            self.error = error

    def failed(self) -> bool:
        return self.error is not None

    def join(self) -> None:
        self._thread.join()
        self.kernel.shutdown()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._thread.is_alive() and self.kernel._sockets is not None:
            # interrupted, its cell fails at once (a shut-down kernel is noticed only after a minute)
            self.kernel.manager.interrupt_kernel()
            self._thread.join(timeout=30)
        self.kernel.shutdown()
        self._thread.join(timeout=30)


#: Report 4 reads only report 1's tables: with a CPU and the memory to spare it runs in a second
#: kernel beside reports 2 and 3 (measured in benchmarks/README.md)
BESIDE = {"04_impact_measurement": "01_current_state"}


def run_in_order(notebooks: list[str], run_one, kernel: SharedKernel, cwd: Path, may_add_kernel: bool = True,
                 beside: dict[str, str] = BESIDE) -> str | None:
    """Run ``notebooks`` in order with ``run_one(name, kernel, note="")``; a ``beside`` notebook
    (name -> the notebook it waits for) runs in a second kernel once that one is done, when
    ``may_add_kernel`` and :func:`room_for_another`. Returns the notebook run beside, if any."""
    second = None
    try:
        for name in notebooks:
            if second is not None and name in beside:
                continue
            run_one(name, kernel)
            if second is not None and second.failed():
                break  # its error is raised by join()
            ready = [later for later, after in beside.items() if after == name and later in notebooks]
            if ready and may_add_kernel and second is None and room_for_another(kernel):
                others = " and ".join(n for n in notebooks[notebooks.index(name) + 1:] if n not in ready)
                note = f" (in a second kernel, beside {others})"
                second = Beside(functools.partial(_run_beside, run_one, ready[0], note), cwd)
                second.name = ready[0]
        if second is not None:
            second.join()
    finally:
        if second is not None:
            second.stop()  # a notebook failed or the run was interrupted: end the other one too
    return None if second is None else second.name


def _run_beside(run_one, name: str, note: str, kernel: SharedKernel) -> None:
    run_one(name, kernel, note)


def room_for_another(kernel: SharedKernel) -> bool:
    """Whether a second kernel may run beside ``kernel``: two CPUs or more for this process,
    and free memory (the system's, and the container's limit where one is set) for this
    kernel's peak so far again, with half of it and 512 MiB to spare. Unknown: no."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    peak, free = kernel.peak_bytes(), _proc_kib("/proc/meminfo", "MemAvailable")
    if cpus < 2 or peak is None or free is None:
        return False
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            free = min(free, int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return free > 1.5 * peak + 512 * 2**20


def _proc_kib(path: str, key: str) -> int | None:
    """A ``key: N kB`` line of a /proc file, in bytes; None where there is none."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


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


def strip_run_metadata(path: Path) -> list[tuple[str, float]]:
    """Drop papermill's timing metadata so stored notebooks diff cleanly; return what it
    recorded: (source, seconds) per executed code cell."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    durations = []
    for cell in notebook.cells:
        seconds = (cell.metadata.pop("papermill", None) or {}).get("duration")
        if cell.cell_type == "code" and seconds is not None:
            durations.append((cell.source, float(seconds)))
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return durations


def notebook_cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a notebook says, without its outputs: (cell type, source, tags) per cell."""
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ()))) for cell in notebook.cells]
