"""Tests of what the benchmark scripts share on the command line."""

from anomaly_tutorial.benchmarks._cli import command_line, progress_printer


def test_command_line_records_the_arguments_given():
    assert (
        command_line("anomaly_tutorial.benchmarks.nab", ["--out", "results/nab"])
        == "python -m anomaly_tutorial.benchmarks.nab --out results/nab"
    )
    assert command_line("m", []) == "python -m m"


def test_progress_printer_prefixes_elapsed_seconds(capsys):
    show = progress_printer()
    show("fitted iforest")
    out = capsys.readouterr().out
    assert out.startswith("[") and out.rstrip().endswith("s] fitted iforest")
