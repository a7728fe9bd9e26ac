"""The lab's shell: the console's verbs (emulator/lab_commands.py lists them, with help and examples) on Mininet's
CLI, so that `cesrv1 ping 192.168.1.10`, `nodes` and `net` still work for those who know them.

At a terminal the line is read by prompt_toolkit: Tab completes commands and the scenario's IDs, the arrows walk
the history, and what background threads print (the probe, health verdicts, a restarted helper) appears above
the line being typed, which is redrawn. A script (`lab --script FILE`) or a pipe is read line by line.
"""

from __future__ import annotations

import shlex
import sys
import time
from cmd import Cmd
from pathlib import Path
from select import poll

from mininet.cli import CLI
from mininet.log import setLogLevel
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from emulator.errors import EmulatorError, RunEnding
from emulator.lab import LINE_SET_USAGE, Changed, Lab
from emulator.lab_commands import LabIds, command_list, completions, help_for, suggest, unavailable_reason
from emulator.runner import live_network
from emulator.session import Prepared


def say(console: Console, markup: str) -> None:
    """A long line: on a terminal wrapped between words at its width (the terminal itself would cut `192.16` /
    `8.1.0/24`), into a file or pipe one line, for the scripts and tests that read it."""
    console.print(markup, highlight=False, soft_wrap=not console.is_terminal)


class _Completer(Completer):
    """Commands first, then each command's words and the scenario's IDs as they are now."""

    def __init__(self, shell: "LabShell") -> None:
        self.shell = shell

    def get_completions(self, document, complete_event):
        before = document.text_before_cursor
        current = "" if before.endswith(" ") or not before.split() else before.split()[-1]
        for name in completions(before, self.shell.ids(), tuple(self.shell.mn.nameToNode)):
            yield Completion(name, start_position=-len(current))


class LabShell(CLI):
    prompt = "cloud-lab> "

    def __init__(self, lab: Lab, console: Console, queued: list[str] | None = None,
                 history: InMemoryHistory | None = None) -> None:
        # Mininet's CLI.__init__ starts the loop at once; set up what it would, and start in start().
        self.lab = lab
        self.console = console
        self.rebuild = ""          # why the last action needs the network rebuilt (Changed.message), if it does
        self.running = ""          # the command in progress, for the line a Ctrl-C prints
        self.mn = lab.live.network.net
        self.locals = {"net": self.mn}
        self.inputFile = None
        self.inPoller = poll()
        self.inPoller.register(sys.stdin)
        self.interactive = queued is None
        self.history = history or InMemoryHistory()      # one per lab: a rebuild keeps it
        Cmd.__init__(self, stdin=sys.stdin)
        self.cmdqueue = list(queued or [])
        if not self.interactive:
            self.use_rawinput = False
            self.prompt = ""

    def start(self, banner: bool = True) -> None:
        """The loop; `banner`: the command list first (once a lab: a rebuild does not print it again)."""
        setLogLevel("output")   # Mininet prints node output at this level
        try:
            if self.interactive and banner:
                self.console.print(escape(command_list(self.ids())))
            while True:
                try:
                    self.cmdloop()
                    return
                except KeyboardInterrupt:
                    if not self.interactive:
                        raise
                    # As in Mininet's CLI: Ctrl-C abandons the line or the command, `exit` or Ctrl-D leaves the lab.
                    stopped = f"`{self.running.split()[0]}` interrupted" if self.running.strip() else "Ctrl-C"
                    self.running = ""
                    self.console.print(f"\n{stopped}; the network keeps running (type exit or press Ctrl-D to "
                                       "leave the lab)")
        finally:
            if self.lab.probe is not None:     # its tcpdumps run in the host's namespace: stop them here
                say(self.console, escape(self.lab.probe_stop()))
            setLogLevel("error")

    def cmdloop(self, intro=None) -> None:
        """At a terminal, prompt_toolkit reads the line; a script or a pipe goes through cmd's own loop."""
        if not (self.interactive and sys.stdin.isatty()):
            return super().cmdloop(intro)
        session = PromptSession(history=self.history, completer=_Completer(self), complete_while_typing=False)
        with patch_stdout(raw=True):      # background lines above the prompt; rich's colours pass through
            while True:
                try:
                    line = session.prompt(self.prompt)
                except EOFError:          # Ctrl-D
                    line = "EOF"
                if self.postcmd(self.onecmd(self.precmd(line)), line):
                    return None

    def ids(self) -> LabIds:
        return LabIds.of(self.lab.cloud, self.lab.prepared.network.hosts)

    # ----- help, and what is not a command -----------------------------------------------------

    def do_help(self, line: str) -> bool:
        """help [COMMAND]: the lab's commands, or one in full (Mininet's own help is not this lab's)"""
        name = line.strip()
        if not name:
            self.console.print(escape(command_list(self.ids())))
            return False
        text = help_for(name, self.ids())
        if text is not None:
            self.console.print(escape(text))
        else:
            self._unknown(name)
        return False

    def default(self, line: str) -> bool:
        """A Mininet node's name runs a command on it, as in Mininet; anything else is not a command."""
        first = line.split()[0] if line.split() else ""
        if first in self.mn:
            super().default(line)
        else:
            self._unknown(first)
        return False

    def _unknown(self, word: str) -> None:
        ids = self.ids()
        reason = unavailable_reason(word, ids)
        if reason:
            self.console.print(f"`{escape(word)}`: {escape(reason)}")
            return
        close = suggest(word, ids)
        hint = f"; did you mean {' or '.join(f'`{name}`' for name in close)}?" if close else ""
        self.console.print(f"unknown command `{escape(word[:40])}`{hint} (`help` lists the commands)")

    # ----- helpers ----------------------------------------------------------------------------

    def _args(self, line: str, count: int, usage: str) -> list[str] | None:
        try:
            args = shlex.split(line)
        except ValueError as exc:
            self.console.print(f"[red]error[/red] {escape(str(exc))}")
            return None
        if len(args) != count:
            self.console.print(escape(f"usage: {usage}"))
            return None
        return args

    def _do(self, action) -> bool:
        """Run a lab action; a refusal is shown and changes nothing. True ends the loop (rebuild)."""
        try:
            outcome = action()
        except RunEnding:
            raise                    # the run cannot go on: never shown as a refusal
        except EmulatorError as error:
            say(self.console, f"[red]refused[/red] {escape(error.render())}")
            return False
        if isinstance(outcome, Changed):
            if outcome.rebuild:
                self.rebuild = outcome.message
                return True
            outcome = outcome.message
        if isinstance(outcome, str):      # plain text, never markup (a path, an ID); one line into a pipe
            say(self.console, escape(outcome))
        elif outcome is not None:
            self.console.print(outcome)
        return False

    def onecmd(self, line: str) -> bool:
        """One command; interrupted (Ctrl-C), it stops the workers it started and nothing else: every helper of the
        network runs in a session of its own, out of the terminal's reach."""
        if not self.interactive and line != "EOF":
            self.console.print(f"[bold]cloud-lab>[/bold] {escape(line)}")
        self.running = line
        with self.lab.live.processes.stopped_if_interrupted():
            finished = super().onecmd(line)
        self.running = ""
        return finished

    def do_EOF(self, line: str) -> bool:  # noqa: N802 (cmd's name)
        return True

    # ----- the console's verbs --------------------------------------------------------------------

    def do_route(self, line: str) -> bool:
        """route add ROUTER DEST TYPE NEXT_HOP_ID | route del ROUTER DEST"""
        words = line.split()
        if words[:1] == ["add"]:
            args = self._args(line, 5, "route add ROUTER DEST RouterInterface|PhysicalConnection|BorderGateway|"
                                       "VpcPeering NEXT_HOP_ID")
            return bool(args) and self._do(lambda: self.lab.add_route(*args[1:]))
        if words[:1] == ["del"]:
            args = self._args(line, 3, "route del ROUTER DEST")
            return bool(args) and self._do(lambda: self.lab.delete_route(*args[1:]))
        self.console.print("usage: route add ROUTER DEST TYPE NEXT_HOP_ID | route del ROUTER DEST")
        return False

    def do_ri(self, line: str) -> bool:
        """ri deactivate RI_ID | ri activate RI_ID"""
        args = self._args(line, 2, "ri deactivate|activate RI_ID")
        if args and args[0] not in ("deactivate", "activate"):
            self.console.print("usage: ri deactivate|activate RI_ID (an Idle pair is connected by the scenario's "
                               "steps)")
        if not args or args[0] not in ("deactivate", "activate"):
            return False
        action = self.lab.deactivate if args[0] == "deactivate" else self.lab.activate
        return self._do(lambda: action(args[1]))

    def do_line(self, line: str) -> bool:
        """line down|up PC_ID (its carrier) | line fail|restore PC_ID (drops every frame, port up) |
        line set PC_ID [latency MS] [jitter MS] [loss PERCENT]"""
        if line.split()[:1] == ["set"]:
            words = line.split()
            if len(words) < 2:
                self.console.print(escape(f"usage: {LINE_SET_USAGE}"))
                return False
            return self._do(lambda: self.lab.line_set(words[1], words[2:]))
        args = self._args(line, 2, "line down|up|fail|restore PC_ID")
        if args and args[0] not in ("down", "up", "fail", "restore"):
            self.console.print("usage: line down|up|fail|restore PC_ID")
        if not args or args[0] not in ("down", "up", "fail", "restore"):
            return False
        if args[0] in ("fail", "restore"):
            return self._do(lambda: self.lab.line_failure(args[1], args[0] == "fail"))
        return self._do(lambda: self.lab.line(args[1], args[0] == "up"))

    def do_bgp(self, line: str) -> bool:
        """bgp down|up | bgp advertise|withdraw PREFIX | bgp show customer|vbr|bgw"""
        words = line.split()
        usage = "usage: bgp down|up | bgp advertise|withdraw PREFIX | bgp show customer|vbr|bgw"
        if words in (["down"], ["up"]):
            return self._do(lambda: self.lab.bgp_session(words[0] == "up"))
        if len(words) == 2 and words[0] in ("advertise", "withdraw"):
            return self._do(lambda: self.lab.bgp_advertise(words[1], withdraw=words[0] == "withdraw"))
        if len(words) in (1, 2) and words[0] == "show":
            return self._do(lambda: Text(self.lab.bgp_show(words[1] if len(words) == 2 else "customer").rstrip()))
        self.console.print(escape(usage))
        return False

    def do_table(self, line: str) -> bool:
        """table ROUTER: the route table as the console shows it"""
        args = self._args(line, 1, "table ROUTER")
        return bool(args) and self._do(lambda: self.console.print(self.lab.route_table(args[0])))

    def do_flows(self, line: str) -> bool:
        """flows ROUTER [raw]: the OpenFlow flows installed on its bridge, as a table (raw: as ovs-ofctl prints)"""
        words = line.split()
        if len(words) not in (1, 2) or words[1:] not in ([], ["raw"]):
            self.console.print(escape("usage: flows ROUTER [raw]"))
            return False
        if len(words) == 2:         # ovs-ofctl's own lines: never re-wrapped, the terminal folds a long one
            return self._do(lambda: self.console.print(Text(self.lab.flows(words[0], raw=True)), soft_wrap=True))
        return self._do(lambda: self.lab.flows(words[0]))

    def do_explain(self, line: str) -> bool:
        """explain SRC DST: the path, or where and why it breaks"""
        from emulator.report import terminal

        args = self._args(line, 2, "explain SRC DST")
        return bool(args) and self._do(lambda: terminal.show_explanation(
            self.console, self.lab.prepared.network, self.lab.explain(*args)))

    def do_ping(self, line: str) -> bool:
        """ping SRC DST: three echoes between two hosts, by cloud ID or address, and their round trip"""
        args = self._args(line, 2, "ping SRC DST")
        if not args:
            return False
        return self._do(lambda: self.lab.ping(*args).describe())

    def do_check(self, line: str) -> bool:
        """check: run the scenario's checks again"""
        from emulator.report import terminal

        def show() -> None:
            checks = self.lab.check()
            terminal.show_checks(self.console, checks)

        return self._do(show)

    def do_steps(self, line: str) -> bool:
        """steps: the tutorial's steps, and how far the lab is"""
        scenario = self.lab.prepared.scenario
        for number, title in enumerate(scenario.step_titles(), start=1):
            mark = "done" if number <= scenario.steps_applied else "next" if number == scenario.steps_applied + 1 \
                else "    "
            # Escaped: rich took "[done]" for a markup tag and printed nothing, and a title is the file's text.
            self.console.print(f"  {escape(f'[{mark}]')} {number}. {escape(title)}")
        return False

    def do_capture(self, line: str) -> bool:
        """capture start LINK | capture stop"""
        words = line.split()
        if words[:1] == ["start"]:
            args = self._args(line, 2, "capture start LINK")
            return bool(args) and self._do(lambda: self.lab.capture_start(args[1]))
        if words == ["stop"]:
            return self._do(self.lab.capture_stop)
        self.console.print("usage: capture start LINK | capture stop")
        return False

    def do_probe(self, line: str) -> bool:
        """probe start SRC DST [INTERVAL_MS] | probe stop"""
        words = line.split()
        if words[:1] == ["start"] and len(words) in (3, 4):
            return self._do(lambda: self.lab.probe_start(*words[1:], say=self._say))
        if words == ["stop"]:
            return self._do(self.lab.probe_stop)
        self.console.print(escape("usage: probe start SRC DST [INTERVAL_MS] | probe stop"))
        return False

    def _say(self, text: str) -> None:
        say(self.console, f"[cyan]{escape(text)}[/cyan]")

    def do_wait(self, line: str) -> bool:
        """wait SECONDS: let time pass (a script watching a probe across a change)"""
        args = self._args(line, 1, "wait SECONDS")
        try:
            seconds = float(args[0]) if args else -1.0
        except ValueError:
            seconds = -1.0
        if args and not 0 <= seconds <= 600:
            self.console.print("usage: wait SECONDS (0 to 600)")
        elif args:
            time.sleep(seconds)
        return False

    def do_step(self, line: str) -> bool:
        """step: apply the next tutorial step to the running network"""
        return self._do(self.lab.step)


def run_lab(prepared: Prepared, console: Console, script: Path | None = None,
            artifacts: Path = Path("artifacts")) -> int:
    """Build, open the shell, rebuild when a step adds routers or links; tear down at the end."""
    from emulator.report import terminal

    queued: list[str] | None = None
    if script is not None:
        try:
            queued = [line.strip() for line in script.read_text().splitlines()
                      if line.strip() and not line.lstrip().startswith("#")] + ["EOF"]
        except OSError as exc:
            raise EmulatorError(f"cannot read the lab script {script}: {exc.strerror}") from None
    terminal.show_steps(console, prepared.scenario)
    first = True
    history = InMemoryHistory()
    while True:
        with live_network(prepared, progress=terminal.progress_printer(console),
                          adjustable_lines=True) as live:
            lab = Lab(prepared, live, artifacts)
            shell = LabShell(lab, console, queued, history)
            shell.start(banner=first)
            first = False
            if not shell.rebuild:
                return 0
            prepared, queued = lab.prepared, shell.cmdqueue or None
            say(console, f"[yellow]{escape(shell.rebuild)}: rebuilding the network[/yellow]")
