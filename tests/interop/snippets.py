"""Checks that each code snippet in docs/consumers.md is, character for character, the region of
an interop test source between "snippet:begin LANG" and "snippet:end LANG" (so the documented
code is the code the interop tests compile and run). Exit 1 naming the snippet that drifted.

Usage: snippets.py [LANG...]   (default: every snippet)
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = {
    "python": ROOT / "tests/interop/python/check.py",
    "go": ROOT / "tests/interop/go/read.go",
    "java": ROOT / "tests/interop/java/src/main/java/dev/cmr/bridge/interop/Check.java",
}


def region(path, lang):
    lines = path.read_text().splitlines()
    begin = next(i for i, line in enumerate(lines)
                 if line.strip().endswith(f"snippet:begin {lang}"))
    end = next(i for i, line in enumerate(lines) if line.strip().endswith(f"snippet:end {lang}"))
    return "\n".join(lines[begin + 1:end]).strip("\n")


def main():
    guide = (ROOT / "docs/consumers.md").read_text()
    failed = False
    for lang in sys.argv[1:] or SOURCES:
        snippet = region(SOURCES[lang], lang)
        if f"```{lang}\n{snippet}\n```" not in guide:
            print(f"snippets: the {lang} snippet in docs/consumers.md differs from "
                  f"{SOURCES[lang].relative_to(ROOT)} (between the snippet markers)")
            failed = True
        else:
            print(f"snippets: {lang} snippet in docs/consumers.md matches the tested source")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
