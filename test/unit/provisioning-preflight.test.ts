import { expect } from 'chai';
import { dockerVersionProblem, parseHolders, parseListeningSockets, requiredPorts } from '../../src/provisioning/preflight.js';

describe('provisioning pre-flight (pure parts)', () => {
  it('accepts Docker 1.13.1 up to 24.x and refuses what lies outside, naming the range and the way out', () => {
    for (const ok of ['1.13.1', '17.03.2-ce', '19.03.15', '20.10.24+dfsg1', '24.0.9']) expect(dockerVersionProblem(ok), ok).to.equal(undefined);
    expect(dockerVersionProblem('1.12.6')).to.equal('Docker 1.12.6 is outside the supported versions (>= 1.13.1 and < 25.0); upgrade Docker or set ignoreDockerVersion');
    expect(dockerVersionProblem('25.0.0')).to.match(/^Docker 25\.0\.0 is outside/);
    expect(dockerVersionProblem('dev')).to.match(/cannot be read/);
  });

  it('asks each role for its ports', () => {
    const ports = (roles: string[]) => requiredPorts({ name: 'n', address: '10.0.0.1', roles: roles as never }).map((p) => p.port);
    expect(ports(['worker'])).to.deep.equal([10250, 10248, 10249, 10256]);
    expect(ports(['etcd', 'controlplane'])).to.include.members([2379, 2380, 6443, 10257, 10259, 10250]);
  });

  it('reads LISTEN rows of /proc/net/tcp and tcp6 only', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000 100 0 0 10 0',
      '   1: 0100007F:B1D7 0100007F:8BD0 06 00000000:00000000 03:000012F7 00000000     0        0 0 3 0000',
      '   0: 00000000000000000000000000000000:0950 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000 100 0 0 10 0',
    ].join('\n');
    expect(parseListeningSockets(text)).to.deep.equal([{ port: 6443, inode: '4242' }, { port: 2384, inode: '77' }]);
  });

  it('finds the container of a holder from its cgroup', () => {
    const id = 'a'.repeat(64);
    const holders = parseHolders(`holder 12 4242 nc 0::/zcloud-hosts/n1/docker/${id} \nholder 13 77 sshd 0::/system.slice/ssh.service \n`);
    expect(holders.get('4242')).to.deep.equal({ pid: 12, command: 'nc', containerId: id });
    expect(holders.get('77')).to.deep.equal({ pid: 13, command: 'sshd' });
  });
});
