import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync, type Options } from '@grpc/proto-loader';
import { protoRoot } from '@ringstore/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';

const require = createRequire(import.meta.url);
const loaderOptions: Options = { keepCase: true, longs: String, enums: String, defaults: true };
const deadlineMs = 5_000;

type Unary = (
  req: object,
  options: { deadline: number },
  cb: (e: Error | null, res: Record<string, unknown>) => void,
) => void;

function call(client: Client, method: string, req: object): Promise<Record<string, unknown>> {
  const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    fn(req, { deadline: Date.now() + deadlineMs }, (e, res) => (e ? reject(e) : resolve(res))),
  );
}

function kvConstructor(pkg: GrpcObject): ServiceClientConstructor {
  const ringstore = pkg['ringstore'] as GrpcObject;
  const v1 = ringstore['v1'] as GrpcObject;
  return v1['KV'] as ServiceClientConstructor;
}

/** Frames serialized FileDescriptorProtos as a FileDescriptorSet (field 1, repeated). */
function descriptorSet(files: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const length: number[] = [];
    let n = file.length;
    do {
      length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    parts.push(Buffer.from([0x0a, ...length]), file);
  }
  return Buffer.concat(parts);
}

/** What grpcurl does: ask server reflection for the files defining a symbol (and their imports). */
async function reflectedFiles(address: string, symbol: string): Promise<Buffer[]> {
  const protoPath = join(
    dirname(require.resolve('@grpc/reflection/package.json')),
    'build/proto/grpc/reflection/v1/reflection.proto',
  );
  const pkg = loadPackageDefinition(
    loadSync(protoPath, { keepCase: false, defaults: true, oneofs: true }),
  );
  const Reflection = ((pkg['grpc'] as GrpcObject)['reflection'] as GrpcObject)['v1'] as GrpcObject;
  const Ctor = Reflection['ServerReflection'] as ServiceClientConstructor;
  const client = new Ctor(address, credentials.createInsecure()) as unknown as Client & {
    serverReflectionInfo(o: {
      deadline: number;
    }): ClientDuplexStream<object, { fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }>;
  };
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const stream = client.serverReflectionInfo({ deadline: Date.now() + deadlineMs });
      stream.on('data', (res: { fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }) => {
        stream.end();
        if (res.fileDescriptorResponse) resolve(res.fileDescriptorResponse.fileDescriptorProto);
        else reject(new Error(`no descriptors for ${symbol}`));
      });
      stream.on('error', reject);
      stream.write({ fileContainingSymbol: symbol });
    });
  } finally {
    client.close();
  }
}

describe('clients built at run time, as in any other language', () => {
  let tc: TestCluster;
  beforeAll(async () => {
    tc = await startTestCluster(3);
  }, 60_000);
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  it('a client loaded from the .proto files with @grpc/proto-loader puts and gets', async () => {
    const definition = loadSync(['ringstore/v1/kv.proto'], {
      ...loaderOptions,
      includeDirs: [protoRoot],
    });
    const KV = kvConstructor(loadPackageDefinition(definition));
    const kv = new KV(tc.address('n1'), credentials.createInsecure());
    try {
      await call(kv, 'Put', {
        key: Buffer.from('from-protos'),
        value: Buffer.from('dynamic'),
        w: 2,
      });
      const res = await call(kv, 'Get', { key: Buffer.from('from-protos'), r: 2 });
      expect((res['siblings'] as { value: Buffer }[]).map((s) => s.value.toString())).toEqual([
        'dynamic',
      ]);
    } finally {
      kv.close();
    }
  });

  it('a client built from server reflection descriptors alone (as grpcurl does) puts and gets', async () => {
    const files = await reflectedFiles(tc.address('n2'), 'ringstore.v1.KV');
    expect(files.length).toBeGreaterThan(0);
    const KV = kvConstructor(
      loadPackageDefinition(loadFileDescriptorSetFromBuffer(descriptorSet(files), loaderOptions)),
    );
    const kv = new KV(tc.address('n2'), credentials.createInsecure());
    try {
      await call(kv, 'Put', {
        key: Buffer.from('from-reflection'),
        value: Buffer.from('described'),
        w: 2,
      });
      const res = await call(kv, 'Get', { key: Buffer.from('from-reflection'), r: 2 });
      expect((res['siblings'] as { value: Buffer }[]).map((s) => s.value.toString())).toEqual([
        'described',
      ]);
    } finally {
      kv.close();
    }
  });
});
