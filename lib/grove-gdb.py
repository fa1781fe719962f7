# grove-gdb.py — gdb commands for grove's greenlets, on a live process or a core file.
#
#   (gdb) source /usr/share/grove/grove-gdb.py      (or: gdb -x …/grove-gdb.py prog [core])
#   (gdb) grove greenlets        every greenlet of every hub: id, name, state, what it waits for
#   (gdb) grove bt ID [TID]      the stack of greenlet ID (of the hub on thread TID, when several
#                                hubs have an ID that number)
#
# It reads grove's own structures through the debug information of libgrove (built with -g, as
# Debian's debugoptimized is): each thread's grove::detail::tl_ctx.hub, falling back to the
# registry of hubs (fd_wait.cpp's g_hubs) where thread-local storage cannot be read. A switched-out
# greenlet's registers are where Boost.Context's jump_fcontext saved them (lib/backtrace.cpp has
# the layout: r12 r13 r14 r15 rbx rbp rip at fctx + 8 … 0x38, the stack pointer at fctx + 0x40);
# `grove bt` has a frame unwinder give them to gdb as the caller of the selected thread's newest
# frame, prints from there, and takes it away again. Nothing is written to the inferior, so it
# works on cores as well. x86-64 only.
import gdb
import gdb.unwinder

_FCTX_REGS = [("r12", 0x08), ("r13", 0x10), ("r14", 0x18), ("r15", 0x20), ("rbx", 0x28), ("rbp", 0x30),
              ("rip", 0x38)]


def _string(v):
    try:
        return v["_M_dataplus"]["_M_p"].string(length=int(v["_M_string_length"]))
    except gdb.error:
        return "?"


def _enum_name(v):
    return str(v).split("::")[-1]


def _hubs():
    """(hub pointer value, thread) for every hub, each once."""
    seen, hubs = set(), []
    inferior = gdb.selected_inferior()
    selected = gdb.selected_thread()
    try:
        for thread in inferior.threads():
            try:
                thread.switch()
                hub = gdb.parse_and_eval("grove::detail::tl_ctx.hub")
            except gdb.error:
                continue
            if int(hub) != 0 and int(hub) not in seen:
                seen.add(int(hub))
                hubs.append(hub)
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
    try:  # hubs whose thread-local storage gdb could not read
        h = gdb.parse_and_eval("'grove::detail::(anonymous namespace)::g_hubs'")
        while int(h) != 0:
            if int(h) not in seen:
                seen.add(int(h))
                hubs.append(h)
            h = h["hubs_next_"]
    except gdb.error:
        pass
    return hubs


def _greenlets(hub):
    """The root greenlet, then every spawned one (oldest first); the hub greenlet is left out."""
    out = [hub["root_"]]
    rest = []
    g = hub["all_"]
    while int(g) != 0:
        rest.append(g)
        g = g["all_next"]
    return out + list(reversed(rest))


def _wait_words(g):
    reason_ptr = g["wait_reason"]
    reason = reason_ptr.string() if int(reason_ptr) != 0 else "?"
    obj = int(g["wait_object"])
    if reason.startswith("join") and obj:
        joined = gdb.Value(obj).cast(g.type)
        return "join of '%s'%s" % (_string(joined["name"]), reason[4:])
    words = ("grove::" if "::" in reason and not reason.startswith("grove::") else "") + reason
    if int(g["wait_fd"]) >= 0:
        words += " fd %d" % int(g["wait_fd"])
    if obj:
        words += " 0x%x" % obj
    return words


def _state_words(hub, g):
    if int(g) == int(hub["current_"]):
        return "running"
    state = _enum_name(g["state"])
    if state == "parked":
        return _wait_words(g)
    if state == "created" or not bool(g["started"]):
        return "not started"
    return state


class _SavedContextUnwinder(gdb.unwinder.Unwinder):
    """While `regs` is set: the newest frame's caller has these registers (a greenlet's saved ones)."""

    class _Id:
        def __init__(self, sp, pc):
            self.sp = sp
            self.pc = pc

    def __init__(self):
        super().__init__("grove-saved-context")
        self.regs = None

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        # The newest frame's id takes the greenlet's stack pointer (just below its saved
        # registers), not its own: gdb stops a backtrace whose caller seems inner to its callee,
        # and a greenlet's stack usually lies below the thread's.
        pc = pending_frame.read_register("rip")
        sp = gdb.Value(self.regs["rsp"] - 0x48).cast(pending_frame.read_register("rsp").type)
        info = pending_frame.create_unwind_info(self._Id(sp, pc))
        for name, value in self.regs.items():
            info.add_saved_register(name, gdb.Value(value).cast(pending_frame.read_register(name).type))
        return info


_unwinder = _SavedContextUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _print_frames(first, limit=64):
    f, level = first, 0
    while f is not None and level < limit and f.pc() != 0:
        sal = f.find_sal()
        where = ""
        if sal.symtab is not None:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        elif f.pc():
            where = " (%s)" % (gdb.solib_name(f.pc()) or "?")
        print("    #%-2d 0x%016x %s%s" % (level, f.pc(), f.name() or "??", where))
        try:
            f = f.older()
        except gdb.error:
            break
        level += 1


def _backtrace(hub, g):
    if int(g) == int(hub["current_"]):
        tid = int(hub["watch"]["tid"])
        for thread in gdb.selected_inferior().threads():
            if thread.ptid[1] == tid:
                thread.switch()
                _print_frames(gdb.newest_frame())
                return
        print("    (the running greenlet: its thread %d is not in this process image)" % tid)
        return
    if not bool(g["started"]) or int(g["fctx"]) == 0:
        print("    (no stack: it has not started)")
        return
    fctx = int(g["fctx"])
    word = gdb.lookup_type("unsigned long").pointer()
    regs = {name: int(gdb.Value(fctx + off).cast(word).dereference()) for name, off in _FCTX_REGS}
    regs["rsp"] = fctx + 0x40
    _unwinder.regs = regs
    gdb.invalidate_cached_frames()
    try:
        _print_frames(gdb.newest_frame().older())
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()


class GroveCommand(gdb.Command):
    """grove's greenlets: `grove greenlets`, `grove bt ID [TID]`."""

    def __init__(self):
        super().__init__("grove", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


class GroveGreenlets(gdb.Command):
    """List every greenlet of every hub: id, name, state and what it waits for."""

    def __init__(self):
        super().__init__("grove greenlets", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        hubs = _hubs()
        if not hubs:
            print("grove: no hub in this process")
            return
        for hub in hubs:
            gs = _greenlets(hub)
            print("hub on thread %d: %d greenlet%s" % (int(hub["watch"]["tid"]), len(gs), "" if len(gs) == 1 else "s"))
            for g in gs:
                print("  greenlet %d '%s' [%s]" % (int(g["id"]), _string(g["name"]), _state_words(hub, g)))


class GroveBt(gdb.Command):
    """Show the stack of greenlet ID: grove bt ID [TID]."""

    def __init__(self):
        super().__init__("grove bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if not args:
            raise gdb.GdbError("usage: grove bt ID [TID]")
        want, tid = int(args[0]), int(args[1]) if len(args) > 1 else None
        found = []
        for hub in _hubs():
            if tid is not None and int(hub["watch"]["tid"]) != tid:
                continue
            found += [(hub, g) for g in _greenlets(hub) if int(g["id"]) == want]
        if not found:
            raise gdb.GdbError("grove: no greenlet %d" % want)
        if len(found) > 1:
            raise gdb.GdbError("grove: greenlet %d exists on several hubs (threads %s): add the thread id" %
                               (want, ", ".join(str(int(h["watch"]["tid"])) for h, _ in found)))
        hub, g = found[0]
        selected = gdb.selected_thread()
        print("greenlet %d '%s' [%s]:" % (want, _string(g["name"]), _state_words(hub, g)))
        try:
            _backtrace(hub, g)
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()


GroveCommand()
GroveGreenlets()
GroveBt()
