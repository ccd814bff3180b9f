/**
 * event-generator DetectCryptoMinersUsingTheStratumProtocol: a renamed miner
 * dropped in /tmp of a pod (written after the container started, so in the
 * overlay's upper layer) connects to a Stratum pool.
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Detect crypto miners using the Stratum protocol' },
  tiercel: ['Crypto Miner Launched', 'Drop and Execute in Container', 'Executable Run From Temporary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ce8', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const miner = shell.spawn({
    exe: '/tmp/.kworker', exepath: '/tmp/.kworker', exeFlags: EXE_FLAGS.UPPER_LAYER | EXE_FLAGS.WRITABLE,
    args: ['-o', 'stratum+tcp://127.0.0.1:3333', '-u', '45Xw9pQWallet', '-p', 'x', '--donate-level', '1'],
  });
  const fd = miner.connect('127.0.0.1', 3333);
  miner.write(fd, '{"method":"login"}');
}
