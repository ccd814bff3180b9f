/**
 * event-generator ContactEC2InstanceMetadataServiceFromContainer: from a pod,
 * an intruder asks the instance metadata service for the node's IAM role
 * credentials with curl. The metadata service is simulated on loopback; the
 * overlay points the upstream rule (and its `outbound` macro, which ignores
 * loopback) at it.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Contact EC2 Instance Metadata Service From Container', overlay: 'overlay.yaml' },
  tiercel: ['Cloud Credentials Requested From Metadata Service'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ce6', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const curl = shell.spawn({ exe: 'curl', exepath: '/usr/bin/curl', args: ['-s', 'http://127.0.0.1/latest/meta-data/iam/security-credentials/'] });
  const fd = curl.connect('127.0.0.1', 80);
  curl.write(fd, 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\n');
  curl.read(fd, 'HTTP/1.1 200 OK\r\n\r\nnode-role');
  curl.close(fd);
  curl.exit();
}
