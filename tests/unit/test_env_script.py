"""scripts/env.sh decides whose mail server the system uses (docs/design.md §6), and scripts/services.sh and
scripts/demo.sh refuse what they cannot do with a reason, before they start anything."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash")
SHOWN = "FLOKK_SMTP_SINK_PORT SMTP_HOST SMTP_PORT"


def bash(*args, **env):
    return subprocess.run(
        [BASH, *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "FLOKK_RUN_DIR": "/nonexistent/run", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def mail_settings(**env):
    """(sink port or None, SMTP_HOST, SMTP_PORT) after sourcing env.sh, and after sourcing it again
    as every script started from a script does."""
    show = f'for v in {SHOWN}; do printf "%s " "${{!v:--}}"; done; echo'
    lines = bash("-c", f". scripts/env.sh; {show}; . scripts/env.sh; {show}", **env).stdout.splitlines()
    assert lines[0] == lines[1], "a script started from another decided differently"
    sink, host, port = lines[0].split()
    return (None if sink == "-" else int(sink)), host, int(port)


def test_without_smtp_settings_the_demo_mails_its_own_sink():
    assert mail_settings() == (8025, "127.0.0.1", 8025)


@pytest.mark.parametrize(
    ("env", "server"),
    [
        ({"SMTP_PORT": "2525"}, ("127.0.0.1", 2525)),  # loopback included
        ({"SMTP_HOST": "smtp.example.net", "SMTP_PORT": "587"}, ("smtp.example.net", 587)),
        ({"SMTP_HOST": "smtp.example.net"}, ("smtp.example.net", 8025)),
    ],
)
def test_smtp_settings_of_the_user_mean_no_sink_of_ours(env, server):
    assert mail_settings(**env) == (None, *server)


def test_test_mode_always_mails_its_own_sink_on_the_slot_port():
    assert mail_settings(FLOKK_MODE="test", FLOKK_TEST_SLOT="3", SMTP_PORT="2525") == (30306, "127.0.0.1", 30306)
    assert mail_settings(FLOKK_MODE="test", FLOKK_SMTP_SINK_PORT="40001") == (40001, "127.0.0.1", 40001)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("start --only nobody", "--only: no process 'nobody'"),
        ("start --only", "--only NAME"),
        ("start --module registration", "--module registration: expected SERVICE=MODULE"),
        ("start --module payments=x.y", "--module payments=x.y: no service 'payments'"),
        ("start --stand-ins gateway", "--stand-ins: no stand-in for 'gateway'"),
        ("start --fast", "unknown option '--fast'"),
        ("launch", "start|stop|restart|kill|status"),
    ],
)
def test_services_script_refuses_bad_arguments_with_the_reason(args, reason):
    done = bash("scripts/services.sh", *args.split())
    assert done.returncode == 2
    assert reason in done.stderr


def test_demo_refuses_a_mail_server_off_this_machine_without_a_recipient_of_the_users(tmp_path):
    # Only `dirname` on the PATH: should the check let the demo go on, it stops at once (no `bash`
    # to run scripts/bootstrap.sh with) instead of starting anything.
    (tmp_path / "dirname").symlink_to(shutil.which("dirname"))
    done = bash("scripts/demo.sh", SMTP_HOST="smtp.example.net", SMTP_PORT="587", PATH=str(tmp_path))
    assert done.returncode == 2
    assert "smtp.example.net:587 is not on this machine" in done.stderr
    assert "FLOKK_DEMO_RECIPIENT" in done.stderr


def amqp_uri(**env):
    return bash("-c", '. scripts/env.sh && printf "%s" "$AMQP_URI"', **env)


def test_one_broker_node_unless_a_cluster_is_asked_for():
    assert amqp_uri().stdout == "amqp://guest:guest@127.0.0.1:5672/"
    assert amqp_uri(FLOKK_MODE="test", FLOKK_TEST_SLOT="8").stdout == "amqp://guest:guest@127.0.0.1:30801/"


def test_a_cluster_lists_every_node_on_ports_of_its_own():
    assert amqp_uri(FLOKK_MODE="test", FLOKK_TEST_SLOT="8", FLOKK_RABBIT_NODES="3").stdout == (
        "amqp://guest:guest@127.0.0.1:30801/;amqp://guest:guest@127.0.0.1:30821/;amqp://guest:guest@127.0.0.1:30841/"
    )
    assert (
        amqp_uri(FLOKK_RABBIT_NODES="2").stdout
        == "amqp://guest:guest@127.0.0.1:5672/;amqp://guest:guest@127.0.0.1:5673/"
    )


def test_a_broker_of_the_callers_is_left_as_it_is():
    mine = "amqp://u:p@rabbit-1:5672/v;amqp://u:p@rabbit-2:5672/v"
    assert amqp_uri(AMQP_URI=mine, FLOKK_RABBIT_NODES="3").stdout == mine


@pytest.mark.parametrize("nodes", ["0", "5", "three"])
def test_a_node_count_out_of_range_is_refused_with_the_reason(nodes):
    done = bash("-c", ". scripts/env.sh && echo started", FLOKK_RABBIT_NODES=nodes, FLOKK_MODE="test")
    assert done.returncode == 2 and "started" not in done.stdout
    assert f"FLOKK_RABBIT_NODES must be a number of RabbitMQ nodes from 1 to 4, not '{nodes}'" in done.stderr
