"""Static checks of docker/: no Docker engine exists on the build machines.

* docker-compose.yml stays in a small YAML subset that a 60-line parser
  below reads (block mappings and sequences, one-line flow sequences,
  scalars); python3-yaml, when installed, must read it the same way.
* Every service has a health check, an image or a build, known
  dependencies; bind mounts exist; published ports, volumes and the kylin5
  profile are what README.md's Docker section says.
* The simulator commands are valid kylin_sim command lines, and the site
  file docker/httpd-kylin.conf names the compose services and passes
  `apache2 -t` (both variants: default and -D KYLIN5).
* The Dockerfile: a builder stage running "make -f Makefile.apxs module", a
  final stage without compilers that installs the package of every shared
  library the module links, COPY sources that exist and are not ignored.
* docker/entrypoint.sh creates the secret files.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import harness

ROOT = harness.ROOT
DOCKER = os.path.join(ROOT, "docker")
COMPOSE = os.path.join(DOCKER, "docker-compose.yml")
DOCKERFILE = os.path.join(DOCKER, "Dockerfile")
IGNORE = os.path.join(DOCKER, "Dockerfile.dockerignore")
SITE = os.path.join(DOCKER, "httpd-kylin.conf")
ENTRYPOINT = os.path.join(DOCKER, "entrypoint.sh")
README = os.path.join(ROOT, "README.md")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- a YAML subset -----------------------------------------------------------

class SubsetError(ValueError):
    pass


def _strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text, where):
    t = text.strip()
    if t == "" or t in ("null", "~"):
        return None
    if t[0] in "&*!|>{" or t.startswith("? "):
        raise SubsetError(f"{where}: outside the subset: {t!r}")
    if t.startswith('"'):
        if not t.endswith('"') or len(t) < 2:
            raise SubsetError(f"{where}: unterminated string")
        return json.loads(t)
    if t.startswith("'"):
        if not t.endswith("'") or len(t) < 2:
            raise SubsetError(f"{where}: unterminated string")
        return t[1:-1].replace("''", "'")
    if t.startswith("["):
        if not t.endswith("]"):
            raise SubsetError(f"{where}: flow sequence must end on its line")
        items, cur, quote = [], "", None
        for c in t[1:-1]:
            if quote:
                cur += c
                if c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
                cur += c
            elif c == ",":
                items.append(cur)
                cur = ""
            else:
                cur += c
        if cur.strip():
            items.append(cur)
        return [_scalar(i, where) for i in items]
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if t in ("true", "false"):
        return t == "true"
    return t


def parse_yaml_subset(text):
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise SubsetError(f"line {n}: tab in indentation")
        body = _strip_comment(raw)
        if body.strip():
            lines.append((n, len(body) - len(body.lstrip()), body.strip()))

    def block(i, indent):
        n, ind, content = lines[i]
        if content == "-" or content.startswith("- "):
            out = []
            while i < len(lines) and lines[i][1] == indent and \
                    (lines[i][2] == "-" or lines[i][2].startswith("- ")):
                item = lines[i][2][1:].strip()
                if re.match(r"^[\w.-]+:(\s|$)", item):
                    raise SubsetError(f"line {lines[i][0]}: mappings in sequences are outside the subset")
                if item:
                    out.append(_scalar(item, f"line {lines[i][0]}"))
                    i += 1
                else:
                    i += 1
                    if i >= len(lines) or lines[i][1] <= indent:
                        raise SubsetError(f"line {lines[i - 1][0]}: empty item")
                    value, i = block(i, lines[i][1])
                    out.append(value)
            return out, i
        out = {}
        while i < len(lines) and lines[i][1] == indent:
            n, _, content = lines[i]
            m = re.match(r"^([\w.-]+):(?:\s+(.*))?$", content)
            if not m:
                raise SubsetError(f"line {n}: expected 'key: value', got {content!r}")
            key, rest = m.group(1), m.group(2)
            if key in out:
                raise SubsetError(f"line {n}: duplicate key {key}")
            i += 1
            if rest:
                out[key] = _scalar(rest, f"line {n}")
            elif i < len(lines) and lines[i][1] > indent:
                out[key], i = block(i, lines[i][1])
            else:
                out[key] = None
        if i < len(lines) and lines[i][1] > indent:
            raise SubsetError(f"line {lines[i][0]}: unexpected indentation")
        return out, i

    if not lines:
        return None
    value, i = block(0, lines[0][1])
    if i != len(lines):
        raise SubsetError(f"line {lines[i][0]}: unexpected dedent")
    return value


def test_subset_parser_itself():
    doc = parse_yaml_subset("""
a: 1            # comment
b:
  - x
  - "y # not a comment"
c:
  d: [CMD, "e f", 'g''h']
  e:
""")
    assert doc == {"a": 1, "b": ["x", "y # not a comment"],
                   "c": {"d": ["CMD", "e f", "g'h"], "e": None}}
    for bad in ("a: &x 1\n", "a:\n\tb: 1\n", "a: {b: 1}\n", "a:\n  - b: 1\n",
                "a: 1\na: 2\n", "a: [1,\n  2]\n"):
        with pytest.raises(SubsetError):
            parse_yaml_subset(bad)


@pytest.fixture(scope="module")
def compose():
    doc = parse_yaml_subset(read(COMPOSE))
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), doc
    return doc


def test_compose_parses(compose):
    assert set(compose) <= {"name", "services", "volumes", "networks"}, set(compose)
    assert compose["services"], "no services"


def test_compose_reads_the_same_with_pyyaml(compose):
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(read(COMPOSE)) == compose


# ---- services -------------------------------------------------------------------

def services(compose):
    return compose["services"].items()


def test_every_service_has_a_healthcheck(compose):
    for name, svc in services(compose):
        hc = svc.get("healthcheck")
        assert isinstance(hc, dict), f"{name}: no healthcheck"
        test = hc.get("test")
        assert isinstance(test, list) and len(test) >= 2, f"{name}: healthcheck test {test!r}"
        assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test {test!r}"
        assert not hc.get("disable"), name
        for key in ("interval", "timeout", "retries"):
            assert key in hc, f"{name}: healthcheck without {key}"


def test_every_service_has_an_image_or_a_build(compose):
    for name, svc in services(compose):
        assert svc.get("image") or svc.get("build"), name
        build = svc.get("build")
        if build:
            ctx = os.path.normpath(os.path.join(DOCKER, build["context"]))
            assert os.path.isdir(ctx), f"{name}: build context {ctx}"
            assert os.path.isfile(os.path.join(ctx, build["dockerfile"])), name
            assert os.path.samefile(os.path.join(ctx, build["dockerfile"]), DOCKERFILE)


def test_dependencies_exist_and_default_services_need_no_profile(compose):
    svcs = compose["services"]
    for name, svc in svcs.items():
        deps = svc.get("depends_on") or {}
        for dep, how in (deps.items() if isinstance(deps, dict) else [(d, None) for d in deps]):
            assert dep in svcs, f"{name} depends on unknown {dep}"
            if not svc.get("profiles"):
                assert not svcs[dep].get("profiles"), \
                    f"{name} (no profile) depends on {dep}, which only runs in a profile"
            if how:
                assert how.get("condition") in ("service_started", "service_healthy",
                                                "service_completed_successfully"), (name, dep)


def volume_specs(compose):
    for name, svc in services(compose):
        for spec in svc.get("volumes") or []:
            parts = spec.split(":")
            assert len(parts) in (2, 3), f"{name}: volume {spec!r}"
            if len(parts) == 3:
                assert parts[2] in ("ro", "rw"), f"{name}: volume {spec!r}"
            yield name, parts[0], parts[1]


def test_volumes_exist(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, src, dst in volume_specs(compose):
        assert dst.startswith("/"), f"{name}: {dst}"
        if src.startswith((".", "/")):
            assert os.path.exists(os.path.normpath(os.path.join(DOCKER, src))), \
                f"{name}: bind mount source {src} does not exist"
        else:
            assert src in declared, f"{name}: named volume {src} not declared"
            used.add(src)
    assert used == declared, f"declared but unused volumes: {declared - used}"


def published_ports(compose):
    for name, svc in services(compose):
        for spec in svc.get("ports") or []:
            m = re.fullmatch(r"(\d+):(\d+)", str(spec))
            assert m, f"{name}: port {spec!r} (quote it, host:container)"
            yield name, int(m.group(1)), int(m.group(2))


def readme_docker_section():
    m = re.search(r"^## Docker\s*$(.*?)(?=^## |\Z)", read(README), re.M | re.S)
    assert m, "README.md has no '## Docker' section"
    return m.group(1)


def test_ports_match_the_readme(compose):
    text = readme_docker_section()
    hosts = []
    for name, host, container in published_ports(compose):
        hosts.append(host)
        row = [l for l in text.splitlines() if l.startswith("|") and f"`{name}`" in l]
        assert row, f"README's Docker table has no row for {name}"
        assert f"`{host}` → {container}" in row[0], \
            f"README says {row[0]!r} for {name}, compose publishes {host}:{container}"
    assert len(hosts) == len(set(hosts)), f"host port published twice: {hosts}"
    for name, _ in services(compose):
        assert f"`{name}`" in text, f"README's Docker section does not mention {name}"


def test_volumes_match_the_readme(compose):
    text = readme_docker_section()
    for name, src, dst in volume_specs(compose):
        if src.startswith((".", "/")):
            repo_path = os.path.relpath(os.path.normpath(os.path.join(DOCKER, src)), ROOT)
            assert f"`{repo_path}`" in text, f"README does not mention {repo_path} ({name})"
        else:
            assert f"`{src}`" in text, f"README does not mention volume {src}"
        assert f"`{dst}`" in text, f"README does not mention {dst} ({name})"


def test_kylin5_profile_is_marked_as_needing_resources(compose):
    svcs = compose["services"]
    k5 = [n for n, s in svcs.items() if "kylin5" in (s.get("profiles") or [])]
    assert "kylin5" in k5, k5
    assert "apachekylin/apache-kylin-standalone" in svcs["kylin5"]["image"]
    assert svcs["kylin5"].get("mem_limit"), "kylin5 without mem_limit"
    assert "NEEDS RESOURCES" in read(COMPOSE)
    text = readme_docker_section()
    assert re.search(r"--profile kylin5 .*needs resources", text), "README: kylin5 command"
    assert "needs resources" in [l for l in text.splitlines() if "`kylin5`" in l][0].lower()


# ---- simulator nodes and the site file ------------------------------------------

def sim_args(svc):
    cmd = svc.get("command")
    assert isinstance(cmd, list) and cmd[:2] == ["python3", "/sim/kylin_sim.py"], cmd
    return cmd[2:]


def test_simulator_commands_are_valid(compose):
    sys.path.insert(0, os.path.join(ROOT, "tests", "kylin_sim"))
    try:
        import kylin_sim
    finally:
        sys.path.pop(0)
    modes = {}
    for name, svc in services(compose):
        if "/sim/kylin_sim.py" not in " ".join(map(str, svc.get("command") or [])):
            continue
        args = kylin_sim.parse_args(sim_args(svc))
        assert args.name == name and args.port == 7070, (name, args)
        assert args.host == "0.0.0.0", "reachable from the balancer's container"
        assert any("/sim:ro" in v for v in svc["volumes"]), name
        assert "127.0.0.1:7070/_sim/state" in " ".join(svc["healthcheck"]["test"])
        modes[name] = (args.profile, args.mode, args.leader)
    assert sorted(m for _, m, _ in modes.values()) == ["all", "job", "query"], modes
    assert sum(1 for *_, lead in modes.values() if lead) == 1, modes


def site_members(define_kylin5):
    text = read(SITE)
    blocks = re.split(r"<IfDefine (!?KYLIN5)>", text)
    chosen = "".join(blocks[i + 1] for i in range(1, len(blocks), 2)
                     if (blocks[i] == "KYLIN5") == define_kylin5)
    return re.findall(r'BalancerMember "http://([\w.-]+):(\d+)"', chosen)


def test_site_file_names_the_compose_services(compose):
    svcs = compose["services"]
    text = read(SITE)
    for host, port in site_members(False) + site_members(True):
        assert host in svcs, f"BalancerMember {host} is no compose service"
        assert port == "7070"
    assert {h for h, _ in site_members(False)} == {"n1", "n2", "n3"}
    assert {h for h, _ in site_members(True)} == {"kylin5"}
    store = re.search(r"^\s*KylinSessionStore\s+(.+)$", text, re.M).group(1).split()
    for server in store:
        host, port = server.rsplit(":", 1)
        assert host in svcs and "memcached" in svcs[host]["image"] and port == "11211", server
    for name in ("balancer", "balancer5"):
        vols = svcs[name]["volumes"]
        assert "./httpd-kylin.conf:/etc/apache2/sites-available/kylin.conf:ro" in vols, name
    assert svcs["balancer5"]["command"][-2:] == ["-D", "KYLIN5"]
    assert "-D" not in (svcs["balancer"].get("command") or [])


@pytest.mark.parametrize("kylin5", [False, True], ids=["default", "kylin5"])
def test_site_file_passes_configtest(tmp_path, kylin5):
    secrets = os.path.join(str(tmp_path), "secrets")
    os.makedirs(secrets)
    with open(os.path.join(secrets, "session.key"), "wb") as f:
        f.write(os.urandom(48))
    with open(os.path.join(secrets, "probe.credentials"), "w") as f:
        f.write("ADMIN:KYLIN\n")
    site = os.path.join(str(tmp_path), "kylin.conf")
    text = read(SITE)
    assert "/etc/apache2/kylin/" in text
    with open(site, "w") as f:
        f.write(text.replace("/etc/apache2/kylin/", secrets + "/"))
    h = harness.Httpd(str(tmp_path), "site5" if kylin5 else "site")
    try:
        body = ("Define KYLIN5\n" if kylin5 else "") + f'Include "{site}"\n'
        rc, out = h.configtest(modules=["authz_core", "authz_host", "slotmem_shm", "proxy",
                                        "proxy_http", "proxy_balancer"], body=body)
    finally:
        h.cleanup()
    assert rc == 0 and "Syntax OK" in out, out


# ---- Dockerfile ----------------------------------------------------------------------

def dockerfile_stages():
    """[(from_line, [instructions])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", read(DOCKERFILE))
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        else:
            assert stages, f"instruction before FROM: {line}"
            stages[-1][1].append(line)
    return stages


def apt_packages(instructions):
    pkgs = []
    for ins in instructions:
        for m in re.finditer(r"apt-get install ([^&;]+)", ins):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


COMPILERS = re.compile(r"^(gcc|g\+\+|cc|clang.*|make|build-essential|pkg-config|apache2-dev"
                       r"|libc6-dev|.*-dev)$")


def test_dockerfile_is_multi_stage():
    stages = dockerfile_stages()
    assert len(stages) == 2, [s[0] for s in stages]
    (b_from, b_ins), (f_from, f_ins) = stages
    assert re.fullmatch(r"FROM debian:bookworm AS builder", b_from, re.I), b_from
    assert f_from == "FROM debian:bookworm-slim", f_from
    assert any("make -f Makefile.apxs module" in i for i in b_ins if i.startswith("RUN"))
    assert "apache2-dev" in apt_packages(b_ins)
    final = apt_packages(f_ins)
    assert "apache2" in final
    assert not [p for p in final if COMPILERS.match(p)], f"compilers in the final stage: {final}"
    assert any(i.startswith("HEALTHCHECK") for i in f_ins)
    assert any(i.startswith("ENTRYPOINT") for i in f_ins)
    assert any(i.startswith("CMD") and "FOREGROUND" in i for i in f_ins)


def copies():
    for _, ins in dockerfile_stages():
        for i in ins:
            if i.startswith("COPY"):
                words = i.split()[1:]
                frm = [w for w in words if w.startswith("--from=")]
                args = [w for w in words if not w.startswith("--")]
                yield (frm[0][7:] if frm else None), args[:-1], args[-1]


def ignored(path):
    """Would Dockerfile.dockerignore (a "*" then "!" re-includes) drop path?"""
    rules = [l.strip() for l in read(IGNORE).splitlines()
             if l.strip() and not l.startswith("#")]
    keep = True
    for rule in rules:
        neg = rule.startswith("!")
        pat = rule.lstrip("!").rstrip("/")
        if pat == "*" or path == pat or path.startswith(pat + "/"):
            keep = neg
    return not keep


def test_dockerfile_copies_exist_and_are_not_ignored():
    makefile = read(os.path.join(ROOT, "Makefile.apxs"))
    module = re.search(r"^MODULE\s*:=\s*(\S+)", makefile, re.M).group(1)
    workdir = [i.split()[1] for _, ins in dockerfile_stages()[:1] for i in ins
               if i.startswith("WORKDIR")][0]
    for frm, srcs, dst in copies():
        if frm == "builder":
            assert srcs == [f"{workdir.rstrip('/')}/{module}"], srcs
            assert dst == "/usr/lib/apache2/modules/mod_kylin_balancer.so"
            continue
        for src in srcs:
            path = os.path.join(ROOT, src.rstrip("/"))
            assert os.path.exists(path), f"COPY source {src} does not exist"
            assert not ignored(src.rstrip("/")), f"COPY source {src} is in Dockerfile.dockerignore"
    load = read(os.path.join(ROOT, "conf", "kylin_balancer.load"))
    assert "/usr/lib/apache2/modules/mod_kylin_balancer.so" in load


def test_final_stage_installs_every_library_the_module_links():
    readelf, dpkg = shutil.which("readelf"), shutil.which("dpkg")
    if not (readelf and dpkg and os.path.exists(harness.MODULE)):
        pytest.skip("readelf, dpkg or the module missing")
    out = subprocess.run([readelf, "-d", harness.MODULE], capture_output=True, text=True,
                         check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    assert needed
    final = set(apt_packages(dockerfile_stages()[1][1])) | {"libc6"}
    r = subprocess.run([dpkg, "-S"] + [f"*/{lib}" for lib in needed], capture_output=True,
                       text=True)
    for lib in needed:
        owners = {l.split(":")[0] for l in r.stdout.splitlines()
                  if ":" in l and l.rstrip().endswith("/" + lib)}
        assert owners, f"no package owns {lib}"
        assert owners & final, f"{lib} (from {sorted(owners)}) is not installed by the final stage"


def test_dockerfile_packages_exist_in_bookworm():
    apt_cache = shutil.which("apt-cache")
    try:
        release = read("/etc/debian_version")
    except OSError:
        release = ""
    if not apt_cache or not release.startswith("12"):
        pytest.skip("not a Debian 12 (bookworm) machine")
    pkgs = sorted({p for _, ins in dockerfile_stages() for p in apt_packages(ins)})
    r = subprocess.run([apt_cache, "show", "--no-all-versions"] + pkgs,
                       capture_output=True, text=True, timeout=300)
    found = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
    assert not set(pkgs) - found, f"not in bookworm: {sorted(set(pkgs) - found)}"


# ---- entrypoint ---------------------------------------------------------------------

def test_entrypoint_creates_the_secrets(tmp_path):
    assert subprocess.run(["sh", "-n", ENTRYPOINT]).returncode == 0
    d = os.path.join(str(tmp_path), "kylin")
    env = dict(os.environ, KYLIN_SECRETS_DIR=d, KYLIN_PROBE_USER="svc",
               KYLIN_PROBE_PASSWORD="pw")
    r = subprocess.run(["sh", ENTRYPOINT, "echo", "ran"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "ran", r.stdout + r.stderr
    key = os.path.join(d, "session.key")
    assert os.path.getsize(key) == 48
    assert read(os.path.join(d, "probe.credentials")) == "svc:pw\n"
    for f in ("session.key", "probe.credentials"):
        assert oct(os.stat(os.path.join(d, f)).st_mode & 0o777) == "0o600"
    before = open(key, "rb").read()
    r = subprocess.run(["sh", ENTRYPOINT, "true"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and open(key, "rb").read() == before, "an existing key is kept"
    site = read(SITE)
    assert "/etc/apache2/kylin/session.key" in site and "/etc/apache2/kylin/probe.credentials" in site
    assert "${KYLIN_SECRETS_DIR:-/etc/apache2/kylin}" in read(ENTRYPOINT)
