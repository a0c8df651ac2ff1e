"""The shipped configuration and documentation stay true.

* conf/kylin_balancer.conf (the reference) and every conf/examples/*.conf pass
  `apache2 -t` when wrapped into a minimal server config the way
  harness.Httpd.configtest does, loading exactly the modules each file's
  "# Modules:" header names; the files a "# Files:" header names are created
  in a temp dir that ${KYLIN_CONF_DIR} points at.
* The reference conf's commented-out "#Kylin..." examples pass too.
* conf/kylin_balancer.load is a valid Debian a2enmod .load file.
* Drift: every directive name of the KYL_DIR_* defines in
  mod_kylin_balancer/mod_kylin_balancer.h appears in conf/kylin_balancer.conf
  and has its section in docs/directives.md (and nothing else does), the
  defaults agree, and README's quick start is exactly the two commands.
* scripts/demo.sh --check works (on free ports).
"""
import os
import re
import shutil
import subprocess

import pytest

import harness

ROOT = harness.ROOT
HEADER = os.path.join(ROOT, "mod_kylin_balancer", "mod_kylin_balancer.h")
REF_CONF = os.path.join(ROOT, "conf", "kylin_balancer.conf")
LOAD_FILE = os.path.join(ROOT, "conf", "kylin_balancer.load")
EXAMPLES = os.path.join(ROOT, "conf", "examples")
DIRECTIVES_MD = os.path.join(ROOT, "docs", "directives.md")
README = os.path.join(ROOT, "README.md")
DEMO = os.path.join(ROOT, "scripts", "demo.sh")

EXAMPLE_FILES = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".conf")) \
    if os.path.isdir(EXAMPLES) else []
# What the brief promised; a missing file fails here rather than silently.
EXPECTED_EXAMPLES = {"kylin4-cluster.conf", "kylin5-cluster.conf",
                     "tls-frontend.conf", "two-balancer-hosts.conf"}

# Members of the contract's balancer, used where a file needs one.
CONTRACT_MEMBERS = ["http://10.0.0.1:7070", "http://10.0.0.2:7070",
                    "http://10.0.0.3:7070"]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def header_directives():
    """{"KYL_DIR_PROBE_INTERVAL": "KylinProbeInterval", ...} from the header."""
    found = dict(re.findall(r'^#define\s+(KYL_DIR_\w+)\s+"([^"]+)"', read(HEADER), re.M))
    assert found, "no KYL_DIR_* defines found in mod_kylin_balancer.h"
    return found


def header_string(name):
    m = re.search(r'^#define\s+%s\s+"([^"]+)"' % name, read(HEADER), re.M)
    assert m, f"{name} not defined in mod_kylin_balancer.h"
    return m.group(1)


# ---- wrapping a conf file into a server config -----------------------------

def file_header(path, field):
    """Words of a "# Field: a b c" header line of a conf file."""
    m = re.search(r"^#\s*%s:\s*(.+)$" % field, read(path), re.M)
    return m.group(1).split() if m else []


def make_conf_dir(tmpdir, names):
    """Creates the files a conf refers to as ${KYLIN_CONF_DIR}/...; returns the dir."""
    d = os.path.join(str(tmpdir), "kylin-conf")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    for name in names:
        rel = name.replace("${KYLIN_CONF_DIR}/", "")
        assert not rel.startswith("/") and ".." not in rel, name
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            continue
        if rel.endswith(".credentials"):
            content = b"svc_kylin_lb:secret\n"
        elif rel.endswith(".crt") or (rel.endswith(".key") and "tls/" in rel):
            make_cert(path)
            continue
        else:                                   # session keys: random bytes
            content = os.urandom(48)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o600)
    return d


def make_cert(path):
    """A self-signed pair beside path (name.crt + name.key)."""
    base = path.rsplit(".", 1)[0]
    openssl = shutil.which("openssl")
    if openssl:
        r = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=kylin.example.com",
                            "-keyout", base + ".key", "-out", base + ".crt"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    else:
        # scripts/deps.sh installs openssl; without it, configtest only
        # checks that mod_ssl's files exist (it reads them in post_config,
        # which -t does not run), but KylinProbeCAFile wants a certificate.
        for ext in (".key", ".crt"):
            with open(base + ext, "w") as f:
                f.write("placeholder\n")


def wrap_and_test(tmpdir, name, conf_path, modules, conf_dir, extra_body=""):
    """configtest of conf_path included into harness' minimal server config."""
    h = harness.Httpd(str(tmpdir), name)
    try:
        body = (f'Define KYLIN_CONF_DIR "{conf_dir}"\n' if conf_dir else "") \
            + extra_body + f'Include "{conf_path}"\n'
        rc, out = h.configtest(modules=modules, body=body)
        return rc, out
    finally:
        h.cleanup()


def modules_for(path):
    """authz_core plus the file's "# Modules:" list; kylin_balancer must be
    last there (harness loads it after the others)."""
    mods = file_header(path, "Modules")
    assert mods, f"{path} has no '# Modules:' header"
    assert mods[-1] == "kylin_balancer", f"{path}: kylin_balancer must come last in Modules"
    for m in mods[:-1]:
        assert os.path.exists(os.path.join(harness.MODDIR, f"mod_{m}.so")), \
            f"{path}: module {m} not found in {harness.MODDIR}"
    return ["authz_core"] + [m for m in mods[:-1] if m != "authz_core"]


REF_MODULES = ["authz_core", "slotmem_shm", "proxy", "proxy_http", "proxy_balancer"]


def contract_balancer(members=CONTRACT_MEMBERS):
    lines = ['<Proxy "balancer://kylin">']
    lines += [f'    BalancerMember "{m}"' for m in members]
    lines += ["    ProxySet lbmethod=kylin", "</Proxy>",
              'ProxyPass "/kylin" "balancer://kylin/kylin"', ""]
    return "\n".join(lines)


# ---- the reference configuration ----------------------------------------------

def test_reference_conf_passes_configtest(tmp_path):
    rc, out = wrap_and_test(tmp_path, "ref", REF_CONF, REF_MODULES,
                            make_conf_dir(tmp_path, []))
    assert rc == 0 and "Syntax OK" in out, out


def test_reference_conf_is_really_parsed(tmp_path):
    """A bad value in the reference conf fails: its <IfModule> block is live."""
    bad = os.path.join(str(tmp_path), "bad.conf")
    text = read(REF_CONF)
    assert re.search(r"^\s*KylinProbeInterval 5s\s*$", text, re.M)
    with open(bad, "w") as f:
        f.write(re.sub(r"^(\s*)KylinProbeInterval 5s", r"\1KylinProbeInterval soon",
                       text, flags=re.M))
    rc, out = wrap_and_test(tmp_path, "refbad", bad, REF_MODULES, None)
    assert rc != 0 and "KylinProbeInterval" in out and "'soon'" in out, out


def test_reference_conf_examples_pass_when_uncommented(tmp_path):
    """Every "#Kylin..." example line of the reference conf is valid as written."""
    text = read(REF_CONF)
    commented = re.findall(r"^\s*#(Kylin\w+)\s", text, re.M)
    assert commented, "no commented-out directive examples in the reference conf"
    on = re.sub(r"^(\s*)#(Kylin\w+\s)", r"\1\2", text, flags=re.M)
    path = os.path.join(str(tmp_path), "uncommented.conf")
    with open(path, "w") as f:
        f.write(on)
    names = re.findall(r"\$\{KYLIN_CONF_DIR\}/([\w./-]+)", on)
    rc, out = wrap_and_test(tmp_path, "refon", path, REF_MODULES,
                            make_conf_dir(tmp_path, names),
                            extra_body=contract_balancer())
    assert rc == 0 and "Syntax OK" in out, out


def directive_lines(text):
    """{name: [args...]} of every directive line, active or "#Kylin..."."""
    out = {}
    for m in re.finditer(r"^\s*(#?)(Kylin\w+)\b(.*)$", text, re.M):
        out.setdefault(m.group(2), []).append((m.group(1) == "", m.group(3).strip()))
    return out


def test_reference_conf_covers_every_directive():
    known = set(header_directives().values())
    lines = directive_lines(read(REF_CONF))
    missing = known - set(lines)
    assert not missing, f"directives missing from conf/kylin_balancer.conf: {sorted(missing)}"
    unknown = set(lines) - known
    assert not unknown, f"conf/kylin_balancer.conf names unknown directives: {sorted(unknown)}"
    for name, uses in lines.items():
        assert len(uses) == 1, f"{name} appears {len(uses)} times in the reference conf"
    text = read(REF_CONF)
    assert "<IfModule kylin_balancer_module>" in text


# ---- the .load file ----------------------------------------------------------

def test_load_file_is_debian_style(tmp_path):
    text = read(LOAD_FILE)
    lines = [l for l in text.splitlines() if l.strip()]
    # a2enmod reads "# Depends:" among the leading comment lines
    assert lines[0].startswith("# Depends:"), lines[0]
    deps = lines[0].split(":", 1)[1].split()
    assert deps == ["proxy", "proxy_http", "proxy_balancer", "slotmem_shm"], deps
    load = [l for l in lines if not l.startswith("#")]
    assert len(load) == 1, load
    m = re.match(r"^LoadModule\s+(\w+)\s+(\S+)$", load[0])
    assert m and m.group(1) == "kylin_balancer_module", load[0]
    assert m.group(2) == f"{harness.MODDIR}/mod_kylin_balancer.so"
    # The same line, pointed at the build tree, after its dependencies, works.
    h = harness.Httpd(str(tmp_path), "load")
    try:
        cfg = h.config_text(modules=["authz_core"] + deps, load_kylin=False,
                            members=CONTRACT_MEMBERS)
        cfg = cfg.replace("<Proxy ", f"LoadModule kylin_balancer_module {h.module_copy()}\n"
                          "<Proxy ", 1)
        with open(h.conf, "w") as f:
            f.write(cfg)
        r = subprocess.run([harness.APACHE, "-t", "-f", h.conf], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        h.cleanup()


# ---- examples ------------------------------------------------------------------

def test_every_promised_example_exists():
    assert EXPECTED_EXAMPLES <= set(EXAMPLE_FILES), EXAMPLE_FILES


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_passes_configtest(tmp_path, name):
    path = os.path.join(EXAMPLES, name)
    text = read(path)
    refs = re.findall(r"\$\{KYLIN_CONF_DIR\}/([\w./-]+)", text)
    declared = [f.replace("${KYLIN_CONF_DIR}/", "") for f in file_header(path, "Files")]
    assert set(refs) <= set(declared), \
        f"{name}: files used but not in its '# Files:' header: {set(refs) - set(declared)}"
    unknown = set(directive_lines(text)) - set(header_directives().values())
    assert not unknown, f"{name}: unknown directives {sorted(unknown)}"
    assert "lbmethod=kylin" in text
    rc, out = wrap_and_test(tmp_path, name.split(".")[0], path, modules_for(path),
                            make_conf_dir(tmp_path, declared))
    assert rc == 0 and "Syntax OK" in out, out


# ---- docs/directives.md ------------------------------------------------------------

def directive_sections():
    """{heading: body} of the "## ..." sections of docs/directives.md."""
    text = read(DIRECTIVES_MD)
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_directives_md_documents_every_directive():
    known = set(header_directives().values())
    sections = directive_sections()
    documented = {h for h in sections if re.fullmatch(r"Kylin\w+", h)}
    assert not known - documented, f"no section in docs/directives.md for {sorted(known - documented)}"
    assert not documented - known, f"docs/directives.md documents unknown {sorted(documented - known)}"
    for name in known:
        body = sections[name]
        for field in ("Description", "Syntax", "Default", "Context", "Module"):
            assert re.search(r"^\|\s*%s:?\s*\|" % field, body, re.M), \
                f"docs/directives.md {name}: no {field} row"
        syntax = re.search(r"^\|\s*Syntax:?\s*\|\s*`([^`]+)`", body, re.M)
        assert syntax and syntax.group(1).split()[0] == name, f"{name}: Syntax row"
        assert re.search(r"^\|\s*Context:?\s*\|\s*server config, virtual host\s*\|", body, re.M), \
            f"{name}: Context row"
        assert re.search(r"^\|\s*Module:?\s*\|\s*mod_kylin_balancer\s*\|", body, re.M), \
            f"{name}: Module row"


def test_directives_md_documents_lbmethod_and_handler():
    text = read(DIRECTIVES_MD)
    assert f"lbmethod={header_string('KYL_LBMETHOD')}" in text
    assert f"SetHandler {header_string('KYL_HANDLER')}" in text


def test_documented_defaults_match_the_reference_conf():
    """An active line of the reference conf sets the documented default."""
    sections = directive_sections()
    for name, uses in directive_lines(read(REF_CONF)).items():
        active, args = uses[0]
        m = re.search(r"^\|\s*Default:?\s*\|\s*(.+?)\s*\|\s*$", sections[name], re.M)
        assert m, f"{name}: no Default row"
        default = m.group(1)
        if active:
            assert default == f"`{name} {args}`", \
                f"{name}: docs say default {default}, reference conf sets '{name} {args}'"
        else:
            assert not default.startswith(f"`{name} "), \
                f"{name}: docs give a default value but the reference conf leaves it off"


# ---- messages quoted verbatim ---------------------------------------------------

GLUE = os.path.join(ROOT, "mod_kylin_balancer")
OPERATIONS_MD = os.path.join(ROOT, "docs", "operations.md")
C_FORMAT = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?(?:ll|l|z|h)?[sdiuxX]|%%")


def c_formats(pattern):
    """Format strings in the glue's C sources that follow `pattern` (a regex
    ending where the literal starts): adjacent literals joined, our header's
    string macros, APR_SIZE_T_FMT and APR_TIME_T_FMT expanded."""
    hdr = read(HEADER)
    macros = dict(re.findall(r'^#define\s+(KYL_\w+)\s+"([^"]*)"', hdr, re.M))
    macros["APR_SIZE_T_FMT"] = "zu"
    macros["APR_TIME_T_FMT"] = "ld"
    out = []
    for name in sorted(os.listdir(GLUE)):
        if not name.endswith(".c"):
            continue
        src = read(os.path.join(GLUE, name))
        for m in re.finditer(pattern + r'((?:"(?:[^"\\]|\\.)*"\s*|[A-Z][A-Z0-9_]*\s*)+)', src):
            fmt = ""
            for lit, mac in re.findall(r'"((?:[^"\\]|\\.)*)"|([A-Z][A-Z0-9_]*)', m.group(1)):
                fmt += macros.get(mac, "%s") if mac else lit.replace('\\"', '"')
            out.append((name, fmt))
    assert out, pattern
    return out


def undocumented(formats, doc_path):
    doc = re.sub(r"\s+", " ", read(doc_path))
    bad = []
    for name, fmt in formats:
        parts = [p.strip() for p in C_FORMAT.split(fmt)]
        missing = [p for p in parts if len(p) >= 4 and p not in doc]
        if missing:
            bad.append(f"{name}: {fmt!r} (not found: {missing})")
    return bad


def test_every_log_message_is_in_operations_md():
    """docs/operations.md quotes every "kylin_balancer: ..." log line."""
    bad = undocumented(c_formats(r"KYL_LOG_PREFIX\s*"), OPERATIONS_MD)
    assert not bad, "log messages missing from docs/operations.md:\n" + "\n".join(bad)


def test_every_directive_error_is_in_directives_md():
    """docs/directives.md quotes every error a directive's setter returns."""
    formats = [f for f in c_formats(r"apr_psprintf\(cmd->pool,\s*") if ": " in f[1]]
    bad = undocumented(formats, DIRECTIVES_MD)
    assert not bad, "directive errors missing from docs/directives.md:\n" + "\n".join(bad)


# ---- README ------------------------------------------------------------------------

def readme_quick_start():
    text = read(README)
    m = re.search(r"^##+\s*Quick start\s*$(.*?)(?=^##\s)", text, re.M | re.S | re.I)
    assert m, "README.md has no 'Quick start' section"
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", m.group(1), re.M | re.S)
    assert len(blocks) == 1, "the quick start should have exactly one code block"
    return [l.strip() for l in blocks[0].splitlines()
            if l.strip() and not l.strip().startswith("#")]


def test_readme_quick_start_is_exactly_two_commands():
    assert readme_quick_start() == ["make -f Makefile.apxs demo",
                                    "make -f Makefile.apxs test"]


def test_readme_minimal_configuration_passes_configtest(tmp_path):
    """README's minimal configuration, with the module and key paths of this
    tree, passes apache2 -t."""
    text = read(README)
    m = re.search(r"^##+\s*Minimal configuration\s*$(.*?)(?=^##\s)", text, re.M | re.S)
    assert m, "README.md has no 'Minimal configuration' section"
    block = re.search(r"^```[a-z]*\n(.*?)^```", m.group(1), re.M | re.S).group(1)
    key = os.path.join(str(tmp_path), "session.key")
    with open(key, "wb") as f:
        f.write(os.urandom(48))
    assert "modules/mod_kylin_balancer.so" in block
    h = harness.Httpd(str(tmp_path), "readme")
    block = block.replace("modules/mod_kylin_balancer.so", h.module_copy())
    block = re.sub(r'"/etc/apache2/kylin/session.key"', f'"{key}"', block)
    try:
        rc, out = h.configtest(modules=REF_MODULES + ["authz_host"], load_kylin=False,
                               body=block)
    finally:
        h.cleanup()
    assert rc == 0 and "Syntax OK" in out, out


def test_readme_targets_exist_in_the_makefile():
    mk = read(os.path.join(ROOT, "Makefile.apxs"))
    for target in ("demo", "test"):
        assert re.search(r"^%s:" % target, mk, re.M), target


def test_doc_links_resolve():
    """Relative links in README.md and docs/*.md name files that exist."""
    pages = [README] + [os.path.join(ROOT, "docs", f)
                        for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(page)):
            if re.match(r"^[a-z]+:", target):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target))
            assert os.path.exists(path), f"{os.path.relpath(page, ROOT)}: broken link {target}"


# ---- the demo ------------------------------------------------------------------------

def test_demo_check_runs(tmp_path):
    ports = set()
    while len(ports) < 6:
        ports.add(harness.free_port())
    env = dict(os.environ, DEMO_KEEP="0")
    for var, port in zip(("DEMO_PORT", "DEMO_MC1_PORT", "DEMO_MC2_PORT",
                          "DEMO_N1_PORT", "DEMO_N2_PORT", "DEMO_N3_PORT"), sorted(ports)):
        env[var] = str(port)
    r = subprocess.run([DEMO, "--check"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "all checks passed" in out, out
    assert "FAIL" not in out, out
