import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';

/*
 * Servers for the test tiers, started with testcontainers. testcontainers and its modules are
 * loaded only when a server is wanted, so importing @wf/shared/testing costs nothing more.
 *
 * Each start waits by running a command in the container, never for a container health
 * check: Podman without systemd runs no health checks, so a wait for one never ends.
 */

/** A server started for a test run, and how to stop it. */
export interface TestServer {
  /** How the tier's clients reach it: a connection URL, or host:port for Kafka. */
  url: string;
  stop(): Promise<void>;
}

/**
 * The container engine testcontainers finds (a description of it), or undefined when none
 * answers. Where no DOCKER_HOST and no Docker socket are set up but Podman's Docker-compatible
 * socket is there (`podman system service`), it is tried: with no Ryuk (Podman would need it
 * privileged; the test runner stops what it started) and the engine's ports on 127.0.0.1,
 * since that engine runs on this machine. testcontainers reads its settings from
 * process.env, so that is where they are set, and only kept when the engine answers.
 */
export async function findContainerEngine(): Promise<string | undefined> {
  const env = process.env;
  const before = {
    DOCKER_HOST: env.DOCKER_HOST,
    TESTCONTAINERS_RYUK_DISABLED: env.TESTCONTAINERS_RYUK_DISABLED,
    TESTCONTAINERS_HOST_OVERRIDE: env.TESTCONTAINERS_HOST_OVERRIDE,
  };
  if (!env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    const podmanSocket = [env.XDG_RUNTIME_DIR && `${env.XDG_RUNTIME_DIR}/podman/podman.sock`, '/run/podman/podman.sock'].find(
      (path): path is string => !!path && existsSync(path),
    );
    if (podmanSocket) {
      env.DOCKER_HOST = `unix://${podmanSocket}`;
      env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
      env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    }
  }
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const { info } = await getContainerRuntimeClient();
    return `${info.containerRuntime.operatingSystem} engine ${info.containerRuntime.serverVersion} at ${info.containerRuntime.remoteSocketPath ?? env.DOCKER_HOST ?? 'its default socket'}`;
  } catch {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    return undefined;
  }
}

export async function startPostgres(image: string): Promise<TestServer> {
  const { Wait } = await import('testcontainers');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(image)
    // Over TCP: the official image's first-start server (which creates the database) listens on no port.
    .withWaitStrategy(Wait.forSuccessfulCommand('pg_isready --host 127.0.0.1 --port 5432'))
    .start();
  return { url: container.getConnectionUri(), stop: async () => { await container.stop(); } };
}

export async function startMongo(image: string): Promise<TestServer> {
  const { Wait } = await import('testcontainers');
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const container = await new MongoDBContainer(image)
    // The module initiates the replica set from a health check; this does it with the same command.
    .withWaitStrategy(Wait.forSuccessfulCommand(`mongosh --quiet --eval "try { rs.status() } catch (e) { rs.initiate() }; quit(db.hello().isWritablePrimary ? 0 : 1)"`))
    .start();
  // The member is named by the container's hostname, which the host cannot resolve: connect directly.
  return { url: `${container.getConnectionString()}/?directConnection=true`, stop: async () => { await container.stop(); } };
}

const KAFKA_PORT = 9092;
const KAFKA_START_SCRIPT = '/tmp/start-kafka.sh';

/**
 * A single-node KRaft broker, in any image laid out like apache/kafka (/opt/kafka/bin). Clients
 * must be told the host port the engine mapped, known only once the container runs, so the
 * container waits for a start script that is copied in then. (@testcontainers/kafka does the
 * same, but only for Confluent's images.)
 */
export async function startKafka(image: string): Promise<TestServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(image)
    .withExposedPorts(KAFKA_PORT)
    .withEntrypoint(['sh', '-c'])
    .withCommand([`echo waiting for ${KAFKA_START_SCRIPT}; until grep -qx '# end' ${KAFKA_START_SCRIPT} 2> /dev/null; do sleep 0.1; done; exec sh ${KAFKA_START_SCRIPT}`])
    .withWaitStrategy(Wait.forLogMessage(`waiting for ${KAFKA_START_SCRIPT}`))
    .start();
  try {
    const bootstrap = `${container.getHost()}:${container.getMappedPort(KAFKA_PORT)}`;
    await container.copyContentToContainer([{ content: kafkaStartScript(bootstrap), target: KAFKA_START_SCRIPT, mode: 0o755 }]);
    await untilLogLine(container, /Kafka Server started/, 120_000);
    return { url: bootstrap, stop: async () => { await container.stop(); } };
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The settings every single-node broker of this repository shares, the ones
 * scripts/kafka-local.sh writes too: one file, read from the repository (this module runs
 * from shared/dist/src/testing or shared/src/testing, both four levels below the root).
 */
export const KAFKA_SETTINGS_FILE = fileURLToPath(new URL('../../../../infra/kafka/server.properties', import.meta.url));

/**
 * The container broker's server.properties: its own listeners (clients advertised
 * `bootstrap`, the host port the engine mapped; the broker talks to itself on a listener of
 * its own, since `bootstrap` is not reachable from inside the container) and data
 * directory, then the shared `settings`.
 */
export function kafkaContainerProperties(bootstrap: string, settings: string): string {
  return `controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://0.0.0.0:${KAFKA_PORT},BROKER://0.0.0.0:9094,CONTROLLER://0.0.0.0:9093
advertised.listeners=PLAINTEXT://${bootstrap},BROKER://localhost:9094
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=BROKER
log.dirs=/tmp/kraft-combined-logs

${settings.trimEnd()}
`;
}

/** The container's start script: writes the properties, formats the storage, runs the broker. */
export function kafkaStartScript(bootstrap: string, settings = readFileSync(KAFKA_SETTINGS_FILE, 'utf8')): string {
  return `#!/bin/sh
set -e
cat > /tmp/server.properties << 'EOF'
${kafkaContainerProperties(bootstrap, settings)}EOF
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t SMvqNuNZRJaLqUiARydASA -c /tmp/server.properties
exec /opt/kafka/bin/kafka-server-start.sh /tmp/server.properties
# end
`;
}

/** Resolves once the container's output has a line matching `pattern`. */
async function untilLogLine(container: StartedTestContainer, pattern: RegExp, timeoutMs: number): Promise<void> {
  const stream = await container.logs();
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      stream.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; the last output:\n${tail}`)), timeoutMs);
    stream.on('data', (chunk: Buffer | string) => {
      tail = (tail + String(chunk)).slice(-4_000);
      if (pattern.test(tail)) done();
    });
    stream.on('error', (err: Error) => done(err));
    stream.on('end', () => done(new Error(`the container's output ended before a line matching ${pattern}:\n${tail}`)));
  });
}
