"""What the benchmark scripts print, kept to be written to benchmarks/results/."""


class Report:
    """Call with a line to print it at once and keep it; :meth:`save` writes them all."""

    def __init__(self):
        self.lines = []

    def __call__(self, line=""):
        print(line, flush=True)
        self.lines.append(line)

    def save(self, path):
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n")
