#!/usr/bin/env python3
"""The tracker's two everyday commands, needing nothing but python3:

    python3 dev.py run    set up, migrate, seed, create the local analyst, serve at http://127.0.0.1:8000
    python3 dev.py test   set up and run the whole test suite (extra arguments go to pytest)

and, for translators, `python3 dev.py messages`: gather the interface's strings into the French and
Japanese catalogues (locale/<language>/LC_MESSAGES/django.po) and compile them.

Both create the virtual environment `.venv` and install the pinned requirements
on first use, and again whenever a requirements file changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".requirements-hash"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(*args: str | os.PathLike, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def _requirements_hash(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _create_venv() -> None:
    say("Creating the virtual environment in .venv")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        hint = (
            "sudo apt-get install -y python3-venv"
            if Path("/etc/debian_version").exists()
            else "install Python's venv module"
        )
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("Python's venv module is missing; installing python3-venv with apt-get")
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            minor = f"python3.{sys.version_info.minor}-venv"
            if subprocess.run(["apt-get", "install", "-y", "-qq", "python3-venv", minor]).returncode == 0:
                venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
                return
        fail(f"could not create a virtual environment ({exc}). Fix: {hint}, then run this command again.")


def ensure_venv(requirements: list[str]) -> None:
    """Create .venv and install the requirements if they changed since the last install."""
    if not PYTHON.exists():
        _create_venv()
    wanted = _requirements_hash(requirements)
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say(f"Installing pinned requirements ({', '.join(requirements)})")
    run(
        PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *[arg for r in requirements for arg in ("-r", r)],
    )
    STAMP.write_text(wanted)


def local_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    return env


def compile_catalogues(*options: str) -> None:
    """Compile the translation catalogues (.po) into the .mo files Django reads (`--gather`: gather first)."""
    run(PYTHON, "manage.py", "compile_catalogues", *options, env=local_env())


def cmd_messages(args: list[str]) -> None:
    ensure_venv(["requirements-dev.txt"])
    say("Gathering the interface's strings into locale/fr and locale/ja, and compiling them")
    compile_catalogues("--gather", *args)


def cmd_run(args: list[str]) -> None:
    ensure_venv(["requirements.txt"])
    compile_catalogues()
    env = local_env()
    say("Migrating the database" + (" (DATABASE_URL)" if "DATABASE_URL" in env else " (SQLite: db.sqlite3)"))
    run(PYTHON, "manage.py", "migrate", "--no-input", "-v", "0", env=env)
    say("Seeding the two documents' recommendations")
    run(PYTHON, "manage.py", "seed", env=env)
    say("Making sure the local analyst account exists")
    run(PYTHON, "manage.py", "ensure_analyst", env=env)
    address = args[0] if args else "127.0.0.1:8000"
    say(f"Serving at http://{address}/  (admin: http://{address}/admin/, API: http://{address}/api/); Ctrl-C stops it")
    os.execve(str(PYTHON), [str(PYTHON), "manage.py", "runserver", address], env)


def cmd_test(args: list[str]) -> None:
    ensure_venv(["requirements-dev.txt"])
    compile_catalogues()
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    db = env.get("DATABASE_URL", "sqlite (in memory)")
    say(f"Running the tests against {db.split('@')[-1]}")
    os.execve(str(PYTHON), [str(PYTHON), "-m", "pytest", *args], env)


COMMANDS = {"run": cmd_run, "test": cmd_test, "messages": cmd_messages}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])
