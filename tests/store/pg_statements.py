#!/usr/bin/env python3
"""Every SQL statement of the store files already on the engine-neutral layer (src/store/store_*.c)
must prepare on PostgreSQL 15 against the PostgreSQL migrations: until the whole store runs on
both engines (issue 16), this keeps the moved files' SQL valid for the engine their tests cannot
run them on yet. Starts its own server (initdb in a temporary directory, as nobody under root)."""
import glob, os, re, shutil, subprocess, sys, tempfile

SRC = os.environ.get('YJ_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = '/usr/lib/postgresql/15/bin'


def statements(path):
    src = open(path, encoding='utf-8').read()
    macros = {m.group(1): ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
              for m in re.finditer(r'#define (\w+)\s*\\?\n((?:\s*"[^"\n]*"\s*\\?\n?)+)', src)}
    for m in re.finditer(r'static const char (\w+)\[\] =\s*((?:\s*(?:"(?:[^"\\]|\\.)*"|\w+))+)\s*;', src):
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"|(\b[A-Z_]{4,}\b)', m.group(2))
        sql = ''.join(p[0] if p[0] or not p[1] else macros.get(p[1], '') for p in parts).replace('\\"', '"')
        if re.match(r'\s*(SELECT|INSERT|UPDATE|DELETE)\b', sql):
            yield m.group(1), sql


def main():
    if not os.access(f'{BIN}/initdb', os.X_OK):
        if os.environ.get('CI'):
            sys.exit('PostgreSQL 15 is not installed, and CI tests both engines (apt-get install postgresql-15)')
        print('skip: PostgreSQL 15 is not installed')
        return
    files = sorted(glob.glob(os.path.join(SRC, 'src/store/store_*.c')))
    stmts = [(os.path.basename(f), n, s) for f in files for n, s in statements(f)]
    if len(stmts) < 30:
        sys.exit(f'only {len(stmts)} statements found in {files}: the extraction is broken')
    d = tempfile.mkdtemp(prefix='yj-pgst-')
    as_user = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        os.chown(d, 65534, 65534)
    try:
        subprocess.run(as_user + [f'{BIN}/initdb', '-N', '-D', f'{d}/db', '-U', 'yingji', '-A', 'trust'],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(as_user + [f'{BIN}/pg_ctl', '-D', f'{d}/db', '-l', f'{d}/log', '-w', '-o',
                                  f"-k {d} -c listen_addresses='' -p 5432 -c fsync=off", 'start'],
                       check=True, stdout=subprocess.DEVNULL)
        script = ''.join(open(f, encoding='utf-8').read() + '\n'
                         for f in sorted(glob.glob(os.path.join(SRC, 'src/store/migrations/postgresql/*.sql'))))
        for i, (f, n, s) in enumerate(stmts):
            script += f"\\echo {f} {n}\nPREPARE p{i} AS {s};\n"
        r = subprocess.run(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', d, '-p', '5432', '-U', 'yingji',
                            'postgres'], input=script, text=True, capture_output=True)
        if r.returncode != 0:
            last = [l for l in r.stdout.splitlines() if l.strip()][-1:] or ['the migrations']
            sys.exit(f'on PostgreSQL, {last[0]}: {r.stderr.strip()}')
        print(f'{len(stmts)} statements of {len(files)} files prepare on PostgreSQL 15')
    finally:
        subprocess.run(as_user + [f'{BIN}/pg_ctl', '-D', f'{d}/db', '-m', 'immediate', 'stop'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)


main()
