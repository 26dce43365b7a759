"""Trials on agents, measured: a nightly over a few corpus cases with one agent against three
(two slots each; wall time, interleaved round by round), and the per-trial overhead of going
through an agent against a local trial (a fresh bisection with one slot, wall time per trial).
Everything runs on this machine, on a RabbitMQ vhost of its own.

    python3 scripts/bench_agents.py [--rounds N] [--minrepro target/release/minrepro]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["stub-broker-leak", "import-crash", "pipe-deadlock", "cwd-settings"]
KEY = "bench-key-0123456789abcdef"


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True)


def interpreter(minrepro):
    out = subprocess.run([minrepro, "run", os.path.join(ROOT, "corpus/import-crash"), "--empty", "--json"],
                         capture_output=True, text=True)
    return json.loads(out.stdout)["trial"]["interpreter"]


def start_agents(minrepro, url, count, python, folder):
    agents = []
    for i in range(count):
        cache = os.path.join(folder, "agent-%d" % i)
        os.makedirs(cache, exist_ok=True)
        env = dict(os.environ, MINREPRO_AGENT_KEY=KEY, MINREPRO_CACHE_DIR=cache)
        agents.append(subprocess.Popen([minrepro, "agent", "--broker", url, "--slots", "2", "--python", python],
                                       env=env, stderr=subprocess.DEVNULL))
    time.sleep(1.0)
    return agents


def stop(agents):
    for agent in agents:
        agent.terminate()
    for agent in agents:
        agent.wait()


def timed(command, env):
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return time.perf_counter() - started, json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    vhost = "minrepro-bench-%d" % os.getpid()
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    url = "amqp://guest:guest@127.0.0.1:5672/" + vhost
    python = interpreter(args.minrepro)
    folder = tempfile.mkdtemp(prefix="bench-agents-")
    corpus = os.path.join(folder, "corpus")
    for case in CASES:
        shutil.copytree(os.path.join(ROOT, "corpus", case), os.path.join(corpus, case))
    nights = {1: [], 3: []}
    local, remote = [], []
    try:
        for round_ in range(args.rounds):
            for count in ((1, 3) if round_ % 2 == 0 else (3, 1)):
                agents = start_agents(args.minrepro, url, count, python, os.path.join(folder, "r%d-%d" % (round_, count)))
                # A cache folder of its own: nothing recorded by an earlier night is reused.
                env = dict(os.environ, MINREPRO_AGENT_KEY=KEY, MINREPRO_PYTHON=python,
                           MINREPRO_CACHE_DIR=os.path.join(folder, "requester-%d-%d" % (round_, count)))
                seconds, summary = timed([args.minrepro, "nightly", corpus, "--out", os.path.join(folder, "out-%d-%d" % (round_, count)),
                                          "--json", "--no-lines", "--jobs", str(2 * count), "--agents", url], env)
                nights[count].append(seconds)
                if count == 1:
                    # Per trial: one slot, fresh, through the agent and here.
                    case = os.path.join(corpus, "stub-broker-leak")
                    seconds, found = timed([args.minrepro, "bisect", case, "--json", "--fresh", "--jobs", "1", "--agents", url], env)
                    remote.append(seconds / found["trials"])
                    seconds, found = timed([args.minrepro, "bisect", case, "--json", "--fresh", "--jobs", "1"], env)
                    local.append(seconds / found["trials"])
                stop(agents)
    finally:
        rabbitmqctl("delete_vhost", vhost)
        shutil.rmtree(folder, ignore_errors=True)
    one, three = sum(nights[1]) / len(nights[1]), sum(nights[3]) / len(nights[3])
    print("nightly over %d cases, %d rounds interleaved (mean wall time)" % (len(CASES), args.rounds))
    print("  1 agent  (2 slots, --jobs 2)   %6.1f s" % one)
    print("  3 agents (6 slots, --jobs 6)   %6.1f s" % three)
    print("  ratio 3 / 1                     %6.2f" % (three / one))
    r, l = sum(remote) / len(remote), sum(local) / len(local)
    print("per trial, stub-broker-leak bisected with one slot (wall / trials)")
    print("  through an agent               %6.3f s" % r)
    print("  local                          %6.3f s" % l)
    print("  ratio agent / local            %6.2f" % (r / l))


if __name__ == "__main__":
    main()
