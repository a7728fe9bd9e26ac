"""The files other processes poll are never seen half-written, and no temporary file is left beside them."""

import json
import threading

from emulator.atomic_file import write_atomically, write_json_atomically


def test_readers_see_a_whole_old_or_new_file_while_two_threads_write(tmp_path):
    path = tmp_path / "plan.json"
    write_json_atomically(path, {"generation": 0, "pad": "x" * 100_000})
    stop = threading.Event()

    def writer(offset: int) -> None:
        for generation in range(offset, 400, 2):
            write_json_atomically(path, {"generation": generation, "pad": "x" * 100_000})
        stop.set()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    read = 0
    while not stop.is_set() or read < 50:
        json.loads(path.read_text())               # a half-written file would not parse
        read += 1
    for thread in threads:
        thread.join()
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_text_is_written_as_given(tmp_path):
    write_atomically(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
