// Counts the TLS connections opened while `work` runs, at https.Agent.prototype.createConnection
// (every keep-alive agent, client-node's and herald's own, goes through it).
import { Agent } from 'node:https';

export async function connectionsOpenedBy(work: () => Promise<void>): Promise<number> {
  let sockets = 0;
  const proto = Agent.prototype as unknown as { createConnection: (...args: unknown[]) => unknown };
  const original = proto.createConnection;
  proto.createConnection = function (this: unknown, ...args: unknown[]) {
    sockets++;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    proto.createConnection = original;
  }
  return sockets;
}
