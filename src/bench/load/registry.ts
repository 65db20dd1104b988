import type { DriverFactory } from "./types.js";

/**
 * Driver factories by name. Loaded lazily so the load generator only pulls in the client library
 * of the system it drives.
 */
const DRIVERS: Record<string, () => Promise<DriverFactory>> = {
  taskraft: async () => (await import("../drivers/taskraft.js")).taskraftDriver,
  mysql: async () => (await import("../drivers/mysql.js")).mysqlDriver,
  etcd: async () => (await import("../drivers/etcd.js")).etcdDriver,
};

export async function driverFactory(name: string): Promise<DriverFactory> {
  const load = DRIVERS[name];
  if (!load) throw new Error(`unknown driver '${name}' (known: ${Object.keys(DRIVERS).join(", ")})`);
  return load();
}
