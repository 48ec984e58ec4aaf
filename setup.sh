#!/usr/bin/env bash
# Sets the project up on a fresh machine: graphviz's `dot` (installed with apt-get when
# run as root, named otherwise), a virtual environment in .venv, and the project in it
# (editable, with the `conform` extra: confluent-kafka).
# `./setup.sh --test` also installs what the test suite needs.
set -euo pipefail
cd "$(dirname "$0")"

# dot measures text with the fonts it finds: the committed diagrams/ are laid out with
# Liberation Sans (fonts-liberation), so every machine draws them byte for byte alike.
have_font() { command -v fc-list >/dev/null 2>&1 && fc-list : family 2>/dev/null | grep -i "Liberation Sans" >/dev/null; }
if ! command -v dot >/dev/null 2>&1 || ! have_font; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing graphviz (dot) and fonts-liberation with apt-get" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz fonts-liberation >/dev/null
    else
        echo "setup: graphviz's 'dot' program or the Liberation fonts are missing; install the system" \
             "packages 'graphviz' and 'fonts-liberation' (e.g. 'sudo apt-get install graphviz fonts-liberation')" \
             "to render diagrams" >&2
    fi
fi

# The report's browser test (tests/test_report.py) drives headless Chromium with chromedriver.
if [ "${1:-}" = "--test" ] && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing chromium and chromium-driver with apt-get (for the browser test)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "setup: chromium and chromedriver are missing; install the system packages 'chromium' and" \
             "'chromium-driver' to run the browser test of the HTML report (it is skipped without them)" >&2
    fi
fi

# SPIN and a C compiler: `bench --spin` times SPIN on the same model, and a test checks
# that SPIN counts the states of the Promela the checker writes as the checker does.
if [ "${1:-}" = "--test" ] && ! { command -v spin && command -v cc; } >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing spin and gcc with apt-get (for the SPIN comparison)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin gcc >/dev/null
    else
        echo "setup: spin or a C compiler is missing; install the system packages 'spin' and 'gcc' to run" \
             "the SPIN comparison (its test is skipped without them)" >&2
    fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# conform's real client (the `conform` extra) always; the test suite's needs with --test.
extras="[conform]"
[ "${1:-}" = "--test" ] && extras="[conform,test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"

# The real-cluster conformance backend (`checker conform --backend kafka`, tests/test_realkafka.py):
# Apache Kafka and its Java client, resolved by Maven from conform/kafka/pom.xml into .cache/
# (once; the command does it too when the cache is missing). Needs Java 17 and Maven.
if [ "${1:-}" = "--test" ]; then
    if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
        .venv/bin/python -c 'from conform.realcluster import runtime; runtime()'
    else
        echo "setup: java, javac or mvn is missing; install Java 17 (a JDK) and Maven to run conformance on" \
             "a real Kafka cluster (its tests are skipped without them)" >&2
    fi
fi
