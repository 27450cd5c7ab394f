"""Renders one case of hostile_templates.CASES in this process and prints a JSON report.

    python3 hostile_child.py INDEX

The address space is capped first (3 GiB: the interpreter, llmkit and Jinja2 need a few hundred
MB; the case's own budget is max_memory_bytes). llmkit renders with max_memory_bytes 64 MiB and
max_render_time 2 s. When llmkit renders, Jinja2 renders too (10 s alarm) and both outputs are
compared here, so that a large output never crosses the pipe.
"""

import json
import os
import resource
import signal
import sys
import time

resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
sys.setrecursionlimit(10000)  # Deep contexts are built iteratively; Jinja2 may recurse on them.

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_templates  # noqa: E402
import llmkit  # noqa: E402

MEMORY_BUDGET = 64 << 20
TIME_BUDGET = 2.0


def main():
    name, template, context_source, expected = hostile_templates.CASES[int(sys.argv[1])]
    scope = {}
    exec(hostile_templates.BUILDERS, scope)  # noqa: S102 - our own corpus
    context = eval(context_source, scope)  # noqa: S307 - our own corpus
    report = {"name": name}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    try:
        template_object = llmkit.Template(template, max_memory_bytes=MEMORY_BUDGET,
                                          max_render_time=TIME_BUDGET)
        ours = template_object.render(context)
        report["llmkit"] = "rendered"
    except llmkit.Error as e:
        ours = None
        report["llmkit"] = "error"
        report["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    except Exception as e:  # noqa: BLE001 - anything else is a finding
        ours = None
        report["llmkit"] = "other exception"
        report["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    report["seconds"] = round(time.monotonic() - started, 3)
    report["grown_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
    if ours is not None:
        from jinja2_oracle import oracle_env

        def timeout(signum, frame):
            raise TimeoutError("Jinja2 took more than 10 s")

        signal.signal(signal.SIGALRM, timeout)
        signal.alarm(10)
        try:
            theirs = oracle_env(False, False).from_string(template).render(**context)
            report["jinja2"] = "same" if theirs == ours else "different"
            if theirs != ours:
                report["diff"] = {"llmkit": ours[:200], "jinja2": theirs[:200]}
        except (RecursionError, TimeoutError) as e:
            if expected is None:
                report["jinja2"] = "error"
                report["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            else:  # Jinja2's own limit: the case states the output.
                report["jinja2"] = "same" if ours == expected else "different"
                report["jinja2_failed"] = type(e).__name__
        except Exception as e:  # noqa: BLE001 - any Jinja2 failure means "error"
            report["jinja2"] = "error"
            report["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            report["output"] = ours[:200]
        signal.alarm(0)
    print(json.dumps(report))


main()
