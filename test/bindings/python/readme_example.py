"""Prints the Python example of the README (the first ```python block of its "### Python" section)."""
import re
import sys


def readme_example(readme: str) -> str:
    section = readme.split("\n### Python\n", 1)
    if len(section) != 2:
        raise SystemExit('README.md has no "### Python" section')
    block = re.search(r"```python\n(.*?)```", section[1], re.DOTALL)
    if block is None:
        raise SystemExit('README.md\'s "### Python" section has no python code block')
    return block.group(1)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as readme:
        sys.stdout.write(readme_example(readme.read()))
