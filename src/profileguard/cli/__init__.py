"""The command line: ``profileguard``.

Every module in this package that defines ``register(app)`` adds its commands, so a new
command is a new module and no central list needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from profileguard.errors import ProfileguardError

app = typer.Typer(
    name="profileguard",
    help="E-commerce user profiles (用户画像) with the law built in.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


@app.callback()
def _root() -> None:
    """E-commerce user profiles (用户画像) with the law built in."""


_register_all()


def main() -> None:
    """Entry point: run the app, turning user errors into a message and exit status 2."""
    try:
        app(standalone_mode=False)
    except ProfileguardError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        if isinstance(exc, _click_exceptions()):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise


def _click_exceptions() -> tuple[type[Exception], ...]:
    """Click's exception class, from typer's bundled copy and/or the click package."""
    found: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException as Bundled  # typer ≥ 0.26 vendors click

        found.append(Bundled)
    except ImportError:
        pass
    try:
        from click.exceptions import ClickException

        found.append(ClickException)
    except ImportError:
        pass
    return tuple(found)
