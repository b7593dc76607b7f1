"""The whole path (ingest, search, ask) runs with every outbound connection refused.

Each CLI command runs in a fresh interpreter whose `sitecustomize` replaces socket connection
and name resolution with a refusal that is also written to a log: the commands must succeed
and the log must stay empty (nothing even tried to reach the network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.generation import default_llm_path
from tests.integration.conftest import DEMO_CORPUS

pytestmark = pytest.mark.integration

GUARD = '''
import os, socket
_log = os.environ["COFFRE_TEST_NET_LOG"]

def _refuse(what):
    with open(_log, "a") as handle:
        handle.write(what + "\\n")
    raise OSError(101, "network refused by test: " + what)

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex

def connect(self, address):
    if self.family == socket.AF_UNIX:
        return _connect(self, address)
    _refuse("connect " + repr(address))

def connect_ex(self, address):
    if self.family == socket.AF_UNIX:
        return _connect_ex(self, address)
    _refuse("connect_ex " + repr(address))

def getaddrinfo(host, *args, **kwargs):
    _refuse("getaddrinfo " + repr(host))

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
socket.create_connection = lambda address, *a, **k: _refuse("create_connection " + repr(address))
'''


def _guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    log.write_text("")
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("HF_", "TRANSFORMERS_", "SCARF_", "DO_NOT_TRACK", "COFFRE_"))
    }
    env.update({
        "PYTHONPATH": str(guard_dir),
        "COFFRE_TEST_NET_LOG": str(log),
        "COFFRE_DATA_DIR": str(tmp_path / "data"),
        "COFFRE_LLM_MODEL": str(default_llm_path()),
        "HOME": str(tmp_path / "home"),  # no cached model or spaCy data from elsewhere
    })
    return env, log


def test_the_guard_catches_connection_attempts(tmp_path: Path) -> None:
    env, log = _guarded_env(tmp_path)
    probe = "import urllib.request; urllib.request.urlopen('http://192.0.2.1/', timeout=1)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "192.0.2.1" in log.read_text()


PROBE = '''
import os, urllib.request

def parse(path, limits):
    path.write_text(str(os.getpid()))
    urllib.request.urlopen("http://192.0.2.2/", timeout=1)
'''


def test_the_guard_holds_in_the_parsing_workers(tmp_path: Path) -> None:
    # Files are parsed in worker processes: the guard must be in force there too, or the
    # ingest below would prove nothing about the parsers.
    env, log = _guarded_env(tmp_path)
    (tmp_path / "guard" / "probe_parse.py").write_text(PROBE)
    marker = tmp_path / "worker.pid"
    probe = (
        "import os, sys; from pathlib import Path; import probe_parse\n"
        "from ingest.archives import ArchiveLimits\n"
        "from ingest.workers import ParseWorkers, WorkerSetup\n"
        "with ParseWorkers(setup=WorkerSetup(probe_parse.parse)) as pool:\n"
        "    try:\n"
        "        pool.parse(Path(sys.argv[1]), ArchiveLimits())\n"
        "    except OSError as exc:\n"
        "        print(os.getpid(), exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(marker)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    parent, _, error = done.stdout.partition(" ")
    assert "network refused by test" in error, done.stdout + done.stderr
    assert marker.read_text() != parent  # refused in the worker, not in the parent
    assert "192.0.2.2" in log.read_text()


def test_ingest_search_ask_with_network_refused(tmp_path: Path) -> None:
    env, log = _guarded_env(tmp_path)
    coffre = [sys.executable, "-m", "api.cli"]
    corpus = [DEMO_CORPUS / "retail-credit-policy.pdf", DEMO_CORPUS / "aml-kyc-procedure.docx",
              DEMO_CORPUS / "procedure-reclamations.html", DEMO_CORPUS / "wire-cutoff-change.eml"]
    commands = [
        [*coffre, "ingest", "--groups", "staff", *map(str, corpus)],
        [*coffre, "search", "loan-to-value buy-to-let", "--top-k", "3"],
        [*coffre, "ask", "How long is a property valuation report valid for?"],
    ]
    outputs = []
    for command in commands:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert log.read_text() == "", f"network was attempted:\n{log.read_text()}"
    # The CLI's search and ask are in the audit trail too, and the chain verifies.
    audit = subprocess.run([*coffre, "audit", "export"], env=env, capture_output=True,
                           text=True, cwd=tmp_path, check=True).stdout.splitlines()
    kinds = [(json.loads(line)["body"]["kind"], json.loads(line)["body"]["channel"])
             for line in audit]
    assert kinds == [("search", "cli"), ("ask", "cli")]
    verified = subprocess.run([*coffre, "audit", "verify"], env=env, capture_output=True,
                              text=True, cwd=tmp_path)
    assert verified.returncode == 0 and "intact (2 records)" in verified.stdout
    assert "ok 4" in outputs[0] and "no access groups" not in outputs[0]
    assert "Retail Credit Policy" in outputs[1]
    # The model ran on the passages retrieval found, and its answer went through citation
    # and verification: the audit record says which, and the console printed the same.
    ask = json.loads(audit[1])["body"]
    assert ask["model"] == default_llm_path().name
    assert ask["retrieved"] and ask["retrieved"][0]["document"].endswith("retail-credit-policy.pdf")
    answer = " ".join(outputs[2].split())
    if ask["refused"]:
        # Retrieval found the policy, so the model was asked: only its reply or the checks
        # can have refused (never the relevance gate).
        assert ask["refusal_reason"] in {"model", "unverified", "answer-check"}, ask
        assert "I don't know" in answer
    else:
        assert ask["cited"] and ask["sentences"]
        assert any(s["verified"] for s in ask["sentences"])
        assert " ".join(ask["answer"].split()) in answer
        for cited in ask["cited"]:
            assert f"[{cited['number']}]" in answer
