import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../command.js';
import type { HostLayout, HostSetLayout, HostSetState } from './layout.js';

/**
 * The login user exists only inside the hosts: each host gets its own copy of this machine's
 * /etc/passwd, /etc/group and /etc/shadow with the user added (bind-mounted over the originals
 * in the host's mount namespace), so the machine's own account files are never changed.
 */
export interface LoginAccount {
  user: string;
  uid: number;
  gid: number;
}

/** The first uid ≥ 2000 that is neither a user nor a group id on this machine. */
export function freeAccountId(): number {
  const used = new Set(
    [readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8')]
      .flatMap((text) => text.split('\n'))
      .map((line) => Number(line.split(':')[2]))
      .filter((id) => Number.isInteger(id)),
  );
  let id = 2000;
  while (used.has(id)) id++;
  return id;
}

/** The account files of one host: this machine's, plus the login user, who may use the Docker socket (group `docker`). */
export function writeAccountFiles(host: HostLayout, account: LoginAccount): void {
  mkdirSync(host.etcDir, { recursive: true });
  const withoutUser = (text: string): string[] =>
    text.split('\n').filter((line) => line !== '' && line.split(':')[0] !== account.user);
  const passwd = [...withoutUser(readFileSync('/etc/passwd', 'utf8')), `${account.user}:x:${account.uid}:${account.gid}:zcloud test host login:/home/${account.user}:/bin/bash`];
  let groups = withoutUser(readFileSync('/etc/group', 'utf8'));
  if (!groups.some((line) => line.startsWith('docker:'))) groups.push(`docker:x:${account.gid + 1}:`);
  groups = groups.map((line) => {
    if (!line.startsWith('docker:')) return line;
    const members = (line.split(':')[3] ?? '').split(',').filter((member) => member !== '' && member !== account.user);
    return `${line.split(':').slice(0, 3).join(':')}:${[...members, account.user].join(',')}`;
  });
  groups.push(`${account.user}:x:${account.gid}:`);
  // '*': no password can ever match, yet the account is not locked ('!'), which sshd would refuse even for keys.
  const shadow = [...withoutUser(readFileSync('/etc/shadow', 'utf8')), `${account.user}:*:19000:0:99999:7:::`];
  writeFileSync(join(host.etcDir, 'passwd'), `${passwd.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(join(host.etcDir, 'group'), `${groups.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(join(host.etcDir, 'shadow'), `${shadow.join('\n')}\n`, { mode: 0o640 });
  const home = join(host.homeDir, account.user);
  mkdirSync(home, { recursive: true });
  chownSync(home, account.uid, account.gid);
  chmodSync(home, 0o750);
}

/** Generates the set's login key pair once (RSA, PEM: what every SSH client library reads). */
export async function ensureUserKey(layout: HostSetLayout): Promise<void> {
  if (existsSync(layout.userKeyPath) && existsSync(`${layout.userKeyPath}.pub`)) return;
  mkdirSync(dirname(layout.userKeyPath), { recursive: true, mode: 0o700 });
  await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '3072', '-m', 'PEM', '-N', '', '-C', `zcloud-testenv-${layout.name}`, '-f', layout.userKeyPath]);
}

/** The host's own host key, generated once and kept across down/up, so clients can pin it. */
async function ensureHostKey(host: HostLayout): Promise<string> {
  const path = join(host.sshDir, 'ssh_host_ed25519_key');
  if (!existsSync(path)) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
  return path;
}

/**
 * Writes the host's sshd configuration: listens on the host's address only, key-only login for
 * the login user, unix-socket forwarding on (that is how a client reaches the Docker socket).
 * Returns the config path.
 */
export async function writeSshdConfig(layout: HostSetLayout, state: HostSetState, host: HostLayout, address: string): Promise<string> {
  mkdirSync(host.sshDir, { recursive: true, mode: 0o755 });
  const hostKey = await ensureHostKey(host);
  const authorizedKeys = join(host.sshDir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${layout.userKeyPath}.pub`), { mode: 0o644 });
  const config = [
    `ListenAddress ${address}:22`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    `AllowUsers ${state.sshUser}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    // PAM would consult the machine's PAM stack and session modules; keys are all we check.
    'UsePAM no',
    'AllowTcpForwarding yes',
    'AllowStreamLocalForwarding yes',
    'StreamLocalBindUnlink yes',
    'PrintMotd no',
    'PidFile none',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
  const path = join(host.sshDir, 'sshd_config');
  writeFileSync(path, config, { mode: 0o600 });
  // sshd insists on its privilege-separation directory, in the host's own /run.
  mkdirSync(join(host.runDir, 'sshd'), { recursive: true, mode: 0o755 });
  return path;
}
