/**
 * Real archives for the leak check's nested scan, made by the real tools (Info-ZIP zip, the JDK's jar, GNU tar,
 * gzip/bzip2/xz/zstd, dpkg-deb, rpmbuild, GNU cpio) in a scratch directory. Each helper returns the file it made.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], cwd?: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A directory tree from { 'a/b.txt': content }. */
export function tree(files: Readonly<Record<string, string | Buffer>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'org-ca-arch-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** Info-ZIP: deflated unless `store`; `zip64` forces ZIP64 records (-fz); `password` encrypts (ZipCrypto). */
export function zipOf(
  out: string,
  files: Readonly<Record<string, string | Buffer>>,
  options: { store?: boolean; zip64?: boolean; password?: string } = {},
): string {
  const dir = tree(files);
  try {
    const args = ['-q', '-r', '-X'];
    if (options.store) args.push('-0');
    if (options.zip64) args.push('-fz');
    if (options.password) args.push('-P', options.password);
    run('zip', [...args, out, ...Object.keys(files)], dir);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JDK's jar tool: deflated entries with data descriptors (ZipOutputStream), a META-INF/MANIFEST.MF. */
export function jarOf(
  out: string,
  files: Readonly<Record<string, string | Buffer>>,
  options: { store?: boolean } = {},
): string {
  const dir = tree(files);
  try {
    run(
      'jar',
      [options.store ? '--create --no-compress' : '--create', '--file', out, ...Object.keys(files)].flatMap((a) =>
        a.split(' '),
      ),
      dir,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GNU tar; `compress` is tar's own -z/-j/-J/--zstd. */
export function tarOf(
  out: string,
  files: Readonly<Record<string, string | Buffer>>,
  compress?: 'gzip' | 'bzip2' | 'xz' | 'zstd',
): string {
  const dir = tree(files);
  try {
    const flag = { gzip: ['-z'], bzip2: ['-j'], xz: ['-J'], zstd: ['--zstd'] }[compress ?? 'gzip'];
    run('tar', ['--format=pax', ...(compress ? flag : []), '-cf', out, ...Object.keys(files)], dir);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One file compressed by the real tool (gzip -n, bzip2, xz, zstd). */
export function compressed(out: string, content: string | Buffer, tool: 'gzip' | 'bzip2' | 'xz' | 'zstd'): string {
  const args = { gzip: ['-n', '-c'], bzip2: ['-c'], xz: ['-c'], zstd: ['-q', '-c'] }[tool];
  writeFileSync(out, execFileSync(tool, args, { input: content, maxBuffer: 1 << 30 }));
  return out;
}

/** A real .deb by dpkg-deb (data.tar.xz by default, or `compression`). */
export function debOf(
  out: string,
  name: string,
  files: Readonly<Record<string, string | Buffer>>,
  compression: 'xz' | 'gzip' | 'zstd' = 'xz',
): string {
  const dir = tree({
    ...files,
    'DEBIAN/control': `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <t@example.com>\nDescription: test package\n`,
  });
  try {
    run('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', dir, out]);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A real binary RPM by rpmbuild (payload cpio, compressed as rpm's default or `payload`), when rpmbuild exists. */
export function rpmOf(
  outDir: string,
  name: string,
  files: Readonly<Record<string, string | Buffer>>,
  payload = 'w6.xzdio',
): string {
  const top = mkdtempSync(join(tmpdir(), 'org-ca-rpm-'));
  try {
    const src = tree(files);
    const install = Object.keys(files)
      .map((f) => `mkdir -p %{buildroot}/${dirname(f)} && cp ${join(src, f)} %{buildroot}/${f}`)
      .join('\n');
    const spec = join(top, `${name}.spec`);
    writeFileSync(
      spec,
      [
        `Name: ${name}`,
        'Version: 1.0',
        'Release: 1',
        'Summary: test',
        'License: MIT',
        'BuildArch: noarch',
        '%description',
        'test',
        '%install',
        install,
        '%files',
        ...Object.keys(files).map((f) => `/${f}`),
        '',
      ].join('\n'),
    );
    run('rpmbuild', [
      '-bb',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_binary_payload ${payload}`,
      '--define',
      '_build_id_links none',
      spec,
    ]);
    const rpm = join(top, 'RPMS/noarch', `${name}-1.0-1.noarch.rpm`);
    const out = join(outDir, `${name}.rpm`);
    writeFileSync(out, readFileSync(rpm));
    rmSync(src, { recursive: true, force: true });
    return out;
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

/** GNU cpio, new ASCII format (as RPM payloads are). */
export function cpioOf(
  out: string,
  files: Readonly<Record<string, string | Buffer>>,
  format: 'newc' | 'odc' = 'newc',
): string {
  const dir = tree(files);
  try {
    writeFileSync(
      out,
      execFileSync('cpio', ['-o', '-H', format, '--quiet'], { cwd: dir, input: Object.keys(files).join('\n') + '\n' }),
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
