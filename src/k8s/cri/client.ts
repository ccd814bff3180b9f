/**
 * A gRPC client of the CRI's `runtime.v1.RuntimeService` on a unix socket
 * (containerd, cri-o, cri-dockerd): the four read-only calls in
 * runtime-v1.proto, each with a deadline, answers decoded into the plain
 * shapes below (protobuf's JSON mapping: camelCase names, 64-bit integers as
 * decimal text, enums by name — what `crictl ... -o json` prints).
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// ---- the answers, as decoded (fields Tiercel reads) ------------------------

export interface CriVersion {
  readonly version: string;
  readonly runtimeName: string;
  readonly runtimeVersion: string;
  readonly runtimeApiVersion: string;
}

export interface CriImageSpec {
  readonly image: string;
  readonly userSpecifiedImage: string;
}

export interface CriPodSandbox {
  readonly id: string;
  readonly metadata: { readonly name: string; readonly uid: string; readonly namespace: string; readonly attempt: number } | null;
  readonly state: string;
  /** ns since the epoch, decimal. */
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface CriContainer {
  readonly id: string;
  readonly podSandboxId: string;
  readonly metadata: { readonly name: string; readonly attempt: number } | null;
  readonly image: CriImageSpec | null;
  readonly imageRef: string;
  readonly state: string;
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly imageId: string;
}

export interface CriMount {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly readonly: boolean;
  readonly propagation: string;
}

export interface CriContainerStatus {
  readonly id: string;
  readonly metadata: { readonly name: string; readonly attempt: number } | null;
  readonly state: string;
  readonly createdAt: string;
  readonly startedAt: string;
  readonly image: CriImageSpec | null;
  readonly imageRef: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mounts: readonly CriMount[];
  readonly imageId: string;
}

// ---- the proto -------------------------------------------------------------

const PROTO_FILE = 'runtime-v1.proto';

/**
 * Where runtime-v1.proto is: next to this module when it runs from the
 * sources (tsx), else in the source tree, because `tsc` copies no .proto
 * into dist/ (dist/k8s/cri/client.js → src/k8s/cri/). The image copies the
 * file to that place too (manifests/agent/Dockerfile).
 */
export function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, PROTO_FILE), join(here, '..', '..', '..', 'src', 'k8s', 'cri', PROTO_FILE)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the CRI protocol definition is missing (looked for ${candidates.join(', ')})`);
  return found;
}

let service: protoLoader.ServiceDefinition | undefined;

/** The RuntimeService definition (loaded once; also what test servers serve). */
export function runtimeService(): protoLoader.ServiceDefinition {
  if (!service) {
    const def = protoLoader.loadSync(protoPath(), {
      keepCase: false, // camelCase, as crictl's JSON
      longs: String, // int64 nanoseconds do not fit a double
      enums: String,
      defaults: true, // absent fields read as '', 0, [], {} (proto3 sends no defaults)
      oneofs: true,
    });
    service = def['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;
  }
  return service;
}

// ---- errors ----------------------------------------------------------------

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

/** A failed call: the gRPC status (`UNAVAILABLE`, `UNIMPLEMENTED`, ...) and what the channel or runtime said. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    readonly details: string,
  ) {
    super(`${method}: ${code}: ${details}`);
    this.name = 'CriError';
  }
}

function toCriError(method: string, err: grpc.ServiceError): CriError {
  return new CriError(method, STATUS_NAMES[err.code] ?? String(err.code), err.details || err.message);
}

// ---- the client ------------------------------------------------------------

export interface CriClientOptions {
  /** Deadline of each call (ms). Default 5 s. */
  readonly timeoutMs?: number;
}

/**
 * The kubelet's limit for CRI answers (16 MiB, `maxMsgSize` in its remote
 * runtime client): a node with thousands of containers lists more than
 * gRPC's default 4 MiB, and nothing legitimate lists more than this.
 */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class CriClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  private readonly service = runtimeService();

  constructor(
    readonly socket: string,
    options: CriClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    const path = isAbsolute(socket) ? socket : resolve(socket);
    this.client = new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // One connection attempt per call: reconnecting is the provider's job (with its backoff and logs).
      'grpc.enable_retries': 0,
    });
  }

  version(): Promise<CriVersion> {
    return this.call<CriVersion>('Version', { version: 'v1' });
  }

  async listPodSandbox(): Promise<CriPodSandbox[]> {
    return (await this.call<{ items: CriPodSandbox[] }>('ListPodSandbox', {})).items;
  }

  async listContainers(): Promise<CriContainer[]> {
    return (await this.call<{ containers: CriContainer[] }>('ListContainers', {})).containers;
  }

  /** One container's status; undefined when the runtime does not know the id (NOT_FOUND). */
  async containerStatus(id: string): Promise<CriContainerStatus | undefined> {
    try {
      const r = await this.call<{ status: CriContainerStatus | null }>('ContainerStatus', { containerId: id, verbose: false });
      return r.status ?? undefined;
    } catch (e) {
      if (e instanceof CriError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }

  close(): void {
    this.client.close();
  }

  private call<R>(method: string, request: object): Promise<R> {
    const def = this.service[method];
    if (!def) return Promise.reject(new Error(`${method} is not in ${PROTO_FILE}`));
    return new Promise<R>((resolvePromise, reject) => {
      this.client.makeUnaryRequest<object, object>(
        def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, value) => {
          if (err) reject(toCriError(method, err));
          else resolvePromise(value as R);
        },
      );
    });
  }
}
