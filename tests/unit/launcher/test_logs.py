import io

from launcher.logs import LineSplitter, LogSink, prefix, use_colour


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prefix_pads_the_name():
    assert prefix("ws", 9, None) == "ws        | "


def test_prefix_colours_the_label_only():
    assert prefix("api", 3, 36) == "\x1b[36mapi | \x1b[0m"


def test_splitter_keeps_a_partial_line_until_its_end_arrives():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == ["one"]
    assert splitter.feed(b"o\r\nthree") == ["two"]
    assert splitter.flush() == ["three"]
    assert splitter.flush() == []


def test_splitter_replaces_bad_utf8_and_splits_a_multibyte_char_across_chunks():
    splitter = LineSplitter()
    rupee = "₹".encode()
    assert splitter.feed(rupee[:1]) == []
    assert splitter.feed(rupee[1:] + b"\xff\n") == ["₹\ufffd"]


def test_splitter_cuts_an_endless_line():
    splitter = LineSplitter(max_line=4)
    assert splitter.feed(b"abcdefghij") == ["abcd", "efgh"]
    assert splitter.flush() == ["ij"]


def test_sink_aligns_every_service_and_the_launcher():
    out = io.StringIO()
    sink = LogSink(out, ["engine", "db_writer"], colour=False)
    sink.line("engine", "up")
    sink.say("hello")
    assert out.getvalue().splitlines() == ["engine    | up", "launcher  | hello"]


def test_sink_gives_each_service_its_own_colour_and_the_launcher_none():
    out = io.StringIO()
    sink = LogSink(out, ["api", "ws"], colour=True)
    sink.line("api", "a")
    sink.line("ws", "b")
    sink.say("c")
    api, ws, launcher = out.getvalue().splitlines()
    assert api.startswith("\x1b[") and ws.startswith("\x1b[") and api[:5] != ws[:5]
    assert launcher == "launcher | c"


def test_colour_only_on_a_terminal_and_never_with_no_color():
    assert use_colour(Tty(), {})
    assert not use_colour(io.StringIO(), {})
    assert not use_colour(Tty(), {"NO_COLOR": "1"})
    assert use_colour(io.StringIO(), {"FORCE_COLOR": "1"})


class Gone(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError("reader went away")


def test_sink_drops_lines_once_its_reader_is_gone():
    sink = LogSink(Gone(), ["api"], colour=False)
    sink.line("api", "one")  # must not raise: the services' output must keep flowing
    sink.say("two")
