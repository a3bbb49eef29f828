import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type ClientDuplexStream,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { checkHealth as checkHealthWith, healthClient } from '@ringstore/tools';

const require = createRequire(import.meta.url);
const probeDeadlineMs = 5_000;

/** grpc.health.v1 Check of the whole server (service ""), through the launcher's own probe. */
export async function checkHealth(address: string): Promise<string> {
  const client = healthClient(address);
  try {
    return await checkHealthWith(client, probeDeadlineMs);
  } finally {
    client.close();
  }
}

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorMessage: string };
}

/** Server reflection (grpc.reflection.v1): the names of the services the server lists. */
export async function listServices(address: string): Promise<string[]> {
  const protoPath = join(
    dirname(require.resolve('@grpc/reflection/package.json')),
    'build/proto/grpc/reflection/v1/reflection.proto',
  );
  const definition = loadSync(protoPath, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            address: string,
            creds: ReturnType<typeof credentials.createInsecure>,
          ) => Client & {
            serverReflectionInfo(options: {
              deadline: number;
            }): ClientDuplexStream<object, ReflectionResponse>;
          };
        };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const call = client.serverReflectionInfo({ deadline: Date.now() + probeDeadlineMs });
      call.on('data', (res: ReflectionResponse) => {
        if (res.listServicesResponse) resolve(res.listServicesResponse.service.map((s) => s.name));
        else reject(new Error(`reflection answered ${JSON.stringify(res)}`));
        call.end();
      });
      call.on('error', reject);
      call.write({ listServices: '' });
    });
  } finally {
    client.close();
  }
}
