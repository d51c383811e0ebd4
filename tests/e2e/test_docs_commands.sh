#!/usr/bin/env bash
# Issue 7, item 6: what the docs promise exists, and the README's commands work as
# written. (1) Every command line shown in README.md and docs/*.md (`brunt SUB ...` in a
# code block) names a subcommand that exists and only flags its --help lists. (2) The
# README's quick-mode commands against the built-in target (127.0.0.1:8083; not those
# that need a database, a process to watch or a port of their own) run as
# written, with only the address and the lengths changed (every -d and stage length
# becomes 1s): each exits 0 (99 for the one with thresholds, if the loaded machine broke
# one), and the requests it counted are the requests the target received.
. "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)

python3 - "$BRUNT" "$root" >commands.txt 2>docs-flags.out <<'PY' || fail "docs name flags or commands brunt does not have: $(cat docs-flags.out)"
import glob, os, re, shlex, subprocess, sys
brunt, root = sys.argv[1], sys.argv[2]

def commands(path):
    """The `brunt ...` lines of a Markdown file's code (fenced or indented), joined
    across trailing backslashes."""
    out, fenced, cur = [], False, None
    for ln in open(path, encoding="utf-8").read().split("\n"):
        if ln.startswith("```"):
            fenced = not fenced
            continue
        if cur is not None:
            cur += " " + ln.strip().rstrip("\\")
            if not ln.rstrip().endswith("\\"):
                out.append(cur)
                cur = None
            continue
        s = ln.strip()
        if (fenced or ln.startswith("    ")) and re.match(r"^(\$ )?brunt [a-z]+\b", s):
            s = s[2:] if s.startswith("$ ") else s
            if s.endswith("\\"):
                cur = s.rstrip("\\")
            else:
                out.append(s)
    return out

helps, bad, flags = {}, [], 0
files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
for path in files:
    for c in commands(path):
        c = re.split(r"\s+#", c)[0]
        try:
            toks = shlex.split(c)
        except ValueError as e:
            bad.append("%s: %s: cannot split (%s)" % (os.path.basename(path), c, e))
            continue
        sub = toks[1]
        if sub not in helps:
            p = subprocess.run([brunt, sub, "--help"], capture_output=True, text=True)
            helps[sub] = (p.returncode, p.stdout + p.stderr)
        rc, text = helps[sub]
        if rc != 0:
            bad.append("%s: %s: 'brunt %s --help' exits %d" % (os.path.basename(path), c, sub, rc))
            continue
        for t in toks[2:]:
            if re.match(r"^--?[A-Za-z]", t):
                f = t.split("=")[0]
                flags += 1
                if not re.search(r"(^|[\s,\[])" + re.escape(f) + r"($|[\s,=\[\]])", text, re.M):
                    bad.append("%s: %s: %s is not in 'brunt %s --help'" % (os.path.basename(path), c, f, sub))
        if os.path.basename(path) == "README.md":
            print(c)
sys.stderr.write("%d flags checked\n" % flags)
if bad:
    sys.stderr.write("\n".join(bad) + "\n")
    sys.exit(1)
PY
log "docs: $(cat docs-flags.out), $(wc -l <commands.txt) README commands"
assert_ge "$(wc -l <commands.txt)" 20 "README commands found"

start_target
ran=0
while IFS= read -r cmd; do
    # Quick mode against the built-in target on its documented port, nothing else bound.
    [[ $cmd == "brunt run "* && $cmd == *"http://127.0.0.1:8083/"* ]] || continue
    [[ $cmd == *--prometheus* || $cmd == *--watch* || $cmd == *--spawn* || $cmd == *--postgres* || $cmd == *--redis* ]] && continue
    eval "args=(${cmd#brunt run })"
    for i in "${!args[@]}"; do
        a=${args[$i]}
        a=${a//http:\/\/127.0.0.1:8083\//$TARGET_URL/}
        if ((i > 0)) && [[ ${args[$((i - 1))]} == -d ]]; then
            a=1s
        elif ((i > 0)) && [[ ${args[$((i - 1))]} == -s ]]; then
            a=1s:${a#*:}
        fi
        args[$i]=$a
    done
    before=$(stats_requests)
    ran=$((ran + 1))
    out=readme$ran.json
    if [[ $cmd == *" --export "* ]]; then
        out=$(sed -E 's/.* --export ([^ ]+).*/\1/' <<<"$cmd") # the README's own file
        rm -f "$out"
        brunt_run readme$ran -q "${args[@]}"
    else
        brunt_run readme$ran -q --export "$out" "${args[@]}"
    fi
    want=0
    [[ $cmd == *--threshold* ]] && ((RC == 99)) && want=99
    assert_eq "$want" "$RC" "exit status of the README's: $cmd"
    n=$(jnum "$out" .metrics.http_reqs.values.count)
    assert_ge "$n" 1 "requests of: $cmd"
    seen=$(($(stats_requests) - before))
    if [[ $cmd == *" -R "* ]]; then
        # The open model may cut requests off while still connecting at the end: they
        # count as interrupted, and never reached the target.
        assert_le "$seen" "$n" "requests the target received vs brunt's http_reqs: $cmd"
        assert_ge "$seen" $((n - $(jnum "$out" .errors.interrupted))) "requests the target received vs brunt's answered ones: $cmd"
    else
        assert_eq "$n" "$seen" "requests the target received vs brunt's http_reqs: $cmd"
    fi
    [[ $cmd == *" -n 10000 "* ]] && assert_eq 10000 "$n" "-n 10000 as written"
done <commands.txt
assert_ge "$ran" 7 "README quick-mode commands run"
stop_target
