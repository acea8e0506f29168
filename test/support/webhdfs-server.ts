// A small WebHDFS (REST API v1) server for tests, since there is no HDFS here: a "namenode" and a "datanode", each
// a real HTTP server on its own port, keeping HDFS's namespace as files under a local folder. It implements the
// operations the hdfs:// store uses, following the WebHDFS REST spec and Hadoop's NamenodeWebHdfsMethods:
//
//   namenode  GET  GETFILESTATUS  {"FileStatus":{…}}             404 FileNotFoundException when absent
//             GET  LISTSTATUS     {"FileStatuses":{"FileStatus":[…]}} (a file lists itself with pathSuffix "")
//             GET  OPEN           307 to the datanode (404 when absent or not a file)
//             PUT  CREATE         307 to the datanode; nothing is checked or created yet
//             PUT  MKDIRS         {"boolean":true}
//             PUT  RENAME         destination=…: {"boolean":…} (old rename: false when the destination exists, moves
//                                 into an existing folder); with renameoptions=OVERWRITE (rename2): replaces a file
//                                 atomically, 200 with an empty body, RemoteException on failure
//             DELETE DELETE       recursive=…: {"boolean":…}; 403 PathIsNotEmptyDirectoryException
//   datanode  PUT  CREATE         overwrite=…: writes the body in place (an HDFS file is visible while being
//                                 written, and a broken upload leaves what arrived), 201 with Location
//             GET  OPEN           offset=…&length=…: the bytes
//
// Errors are RemoteException JSON with Hadoop's status mapping (FileNotFoundException 404, IOExceptions 403,
// IllegalArgumentException 400). `user.name` is recorded as the owner of what a request creates.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface WebHdfsRequest {
  node: 'namenode' | 'datanode';
  method: string;
  op: string;
  path: string;
  user: string | null;
}

export interface TestWebHdfsServer {
  /** `http://127.0.0.1:<port>`, what an hdfs:// URI names. */
  namenodeUrl: string;
  datanodeUrl: string;
  /** Local folder standing for HDFS's `/`. */
  dataDir: string;
  /** Every request served, in order. */
  requests: WebHdfsRequest[];
  /** The local file behind an HDFS path. */
  localPath(hdfsPath: string): string;
  /** Stops the datanode only (the namenode keeps redirecting to it). */
  stopDatanode(): Promise<void>;
  close(): Promise<void>;
}

const JAVA_CLASSES: Record<string, string> = {
  FileNotFoundException: 'java.io.FileNotFoundException',
  FileAlreadyExistsException: 'org.apache.hadoop.fs.FileAlreadyExistsException',
  ParentNotDirectoryException: 'org.apache.hadoop.fs.ParentNotDirectoryException',
  PathIsNotEmptyDirectoryException: 'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
  IOException: 'java.io.IOException',
  IllegalArgumentException: 'java.lang.IllegalArgumentException',
  InvalidPathException: 'org.apache.hadoop.fs.InvalidPathException',
};

/** A Hadoop exception on its way to the client as RemoteException JSON. */
class RemoteException extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new RemoteException(404, 'FileNotFoundException', message);
const forbidden = (exception: string, message: string) => new RemoteException(403, exception, message);
const badRequest = (exception: string, message: string) => new RemoteException(400, exception, message);

export async function startWebHdfsServer(): Promise<TestWebHdfsServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'aimass-webhdfs-'));
  const requests: WebHdfsRequest[] = [];
  const owners = new Map<string, string>();
  let fileIds = 16386;
  const ids = new Map<string, number>();

  const localPath = (hdfsPath: string) => path.join(dataDir, ...hdfsPath.split('/').filter(Boolean));
  const statOf = (hdfsPath: string) => stat(localPath(hdfsPath)).catch(() => undefined);

  async function fileStatus(hdfsPath: string, pathSuffix: string) {
    const info = await stat(localPath(hdfsPath));
    const isDir = info.isDirectory();
    if (!ids.has(hdfsPath)) ids.set(hdfsPath, fileIds++);
    return {
      accessTime: isDir ? 0 : Math.floor(info.atimeMs),
      blockSize: isDir ? 0 : 134217728,
      childrenNum: isDir ? (await readdir(localPath(hdfsPath))).length : 0,
      fileId: ids.get(hdfsPath),
      group: 'supergroup',
      length: isDir ? 0 : info.size,
      modificationTime: Math.floor(info.mtimeMs),
      owner: owners.get(hdfsPath) ?? 'dr.who',
      pathSuffix,
      permission: isDir ? '755' : '644',
      replication: isDir ? 0 : 3,
      storagePolicy: 0,
      type: isDir ? 'DIRECTORY' : 'FILE',
    };
  }

  /** Throws ParentNotDirectoryException when a folder above `hdfsPath` is a file. */
  async function checkAncestors(hdfsPath: string): Promise<void> {
    const parts = hdfsPath.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const above = `/${parts.slice(0, i).join('/')}`;
      const info = await statOf(above);
      if (!info) return;
      if (!info.isDirectory()) throw forbidden('ParentNotDirectoryException', `Parent path is not a directory: ${above}`);
    }
  }

  async function mkdirs(hdfsPath: string, user: string): Promise<void> {
    await checkAncestors(hdfsPath);
    const info = await statOf(hdfsPath);
    if (info && !info.isDirectory()) throw forbidden('FileAlreadyExistsException', `Path is not a directory: ${hdfsPath}`);
    const parts = hdfsPath.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (!(await statOf(dir))) {
        // Concurrent MKDIRS of the same folder both succeed, as in HDFS.
        const created = await mkdir(localPath(dir)).then(
          () => true,
          (e: NodeJS.ErrnoException) => {
            if (e.code === 'EEXIST') return false;
            throw e;
          },
        );
        if (created) owners.set(dir, user);
      }
    }
  }

  const redirect = (res: ServerResponse, hdfsPath: string, query: URLSearchParams) => {
    const location = new URL(`${datanodeUrl}/webhdfs/v1${encodePath(hdfsPath)}`);
    for (const [k, v] of query) location.searchParams.set(k, v);
    location.searchParams.set('namenoderpcaddress', 'localhost:8020');
    res.writeHead(307, { Location: location.href, 'Content-Length': '0' });
    res.end();
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  async function namenode(req: IncomingMessage, res: ServerResponse, hdfsPath: string, op: string, query: URLSearchParams, user: string) {
    // Only CREATE's second step carries data, and it goes to the datanode.
    req.resume();
    const method = req.method ?? 'GET';
    const expect = (wanted: string) => {
      if (method !== wanted) {
        throw badRequest('IllegalArgumentException', `Invalid value for webhdfs parameter "op": ${op} is not a valid ${method} operation`);
      }
    };
    switch (op) {
      case 'GETFILESTATUS': {
        expect('GET');
        if (!(await statOf(hdfsPath))) throw notFound(`File does not exist: ${hdfsPath}`);
        return json(res, 200, { FileStatus: await fileStatus(hdfsPath, '') });
      }
      case 'LISTSTATUS': {
        expect('GET');
        const info = await statOf(hdfsPath);
        if (!info) throw notFound(`File ${hdfsPath} does not exist.`);
        const entries = info.isDirectory()
          ? await Promise.all((await readdir(localPath(hdfsPath))).sort().map((name) => fileStatus(join(hdfsPath, name), name)))
          : [await fileStatus(hdfsPath, '')];
        return json(res, 200, { FileStatuses: { FileStatus: entries } });
      }
      case 'OPEN': {
        expect('GET');
        const info = await statOf(hdfsPath);
        if (!info) throw notFound(`File does not exist: ${hdfsPath}`);
        if (!info.isFile()) throw notFound(`Path is not a file: ${hdfsPath}`);
        if (!query.has('offset')) query.set('offset', '0');
        return redirect(res, hdfsPath, query);
      }
      case 'CREATE': {
        expect('PUT');
        return redirect(res, hdfsPath, query);
      }
      case 'MKDIRS': {
        expect('PUT');
        await mkdirs(hdfsPath, user);
        return json(res, 200, { boolean: true });
      }
      case 'RENAME': {
        expect('PUT');
        const destination = query.get('destination');
        if (!destination) throw badRequest('IllegalArgumentException', 'Required param destination for op: RENAME is null or empty');
        if (!destination.startsWith('/')) {
          throw badRequest('IllegalArgumentException', `Invalid parameter value: destination = ${destination} is not an absolute path`);
        }
        const target = checkPath(destination);
        const options = (query.get('renameoptions') ?? '').split(',').map((o) => o.trim().toUpperCase()).filter(Boolean);
        const unknown = options.find((o) => o !== 'NONE' && o !== 'OVERWRITE');
        if (unknown) throw badRequest('IllegalArgumentException', `No enum constant org.apache.hadoop.fs.Options.Rename.${unknown}`);
        if (options.length === 0) return json(res, 200, { boolean: await oldRename(hdfsPath, target) });
        await rename2(hdfsPath, target, options.includes('OVERWRITE'));
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '0' });
        return res.end();
      }
      case 'DELETE': {
        expect('DELETE');
        const info = await statOf(hdfsPath);
        if (!info || hdfsPath === '/') return json(res, 200, { boolean: false });
        if (info.isDirectory()) {
          const recursive = query.get('recursive') === 'true';
          if (!recursive && (await readdir(localPath(hdfsPath))).length > 0) {
            throw forbidden('PathIsNotEmptyDirectoryException', `\`${hdfsPath} is non empty': Directory is not empty`);
          }
          await rm(localPath(hdfsPath), { recursive: true });
        } else {
          await unlink(localPath(hdfsPath));
        }
        owners.delete(hdfsPath);
        return json(res, 200, { boolean: true });
      }
      default:
        throw badRequest('IllegalArgumentException', `Invalid value for webhdfs parameter "op": No enum constant for op ${op}`);
    }
  }

  /** FileSystem.rename: false instead of errors; into an existing folder. */
  async function oldRename(from: string, to: string): Promise<boolean> {
    const source = await statOf(from);
    if (!source || from === '/') return false;
    let target = to;
    const existing = await statOf(target);
    if (existing?.isDirectory()) target = join(target, path.posix.basename(from));
    if (await statOf(target)) return false;
    const parent = await statOf(path.posix.dirname(target));
    if (!parent?.isDirectory()) return false;
    await moveLocal(from, target);
    return true;
  }

  /** FileContext.rename (rename2): errors instead of false; OVERWRITE replaces atomically. */
  async function rename2(from: string, to: string, overwrite: boolean): Promise<void> {
    const source = await statOf(from);
    if (!source) throw notFound(`rename source ${from} is not found.`);
    const parentPath = path.posix.dirname(to);
    const parent = await statOf(parentPath);
    if (!parent) throw notFound(`rename destination parent ${parentPath} not found.`);
    if (!parent.isDirectory()) throw forbidden('ParentNotDirectoryException', `rename destination parent ${parentPath} is a file.`);
    const existing = await statOf(to);
    if (existing) {
      if (!overwrite) throw forbidden('FileAlreadyExistsException', `rename destination ${to} already exists.`);
      if (existing.isDirectory() !== source.isDirectory()) {
        throw forbidden('IOException', `Source ${from} and destination ${to} must both be directories`);
      }
      if (existing.isDirectory() && (await readdir(localPath(to))).length > 0) {
        throw forbidden('IOException', `rename destination directory is not empty: ${to}`);
      }
      if (existing.isDirectory()) await rmdir(localPath(to));
    }
    await moveLocal(from, to);
  }

  async function moveLocal(from: string, to: string): Promise<void> {
    await rename(localPath(from), localPath(to)); // atomic, replacing a file at `to`
    const owner = owners.get(from);
    owners.delete(from);
    if (owner) owners.set(to, owner);
  }

  async function datanode(req: IncomingMessage, res: ServerResponse, hdfsPath: string, op: string, query: URLSearchParams, user: string) {
    if (op === 'CREATE' && req.method === 'PUT') {
      const existing = await statOf(hdfsPath);
      if (existing?.isDirectory()) throw forbidden('FileAlreadyExistsException', `${hdfsPath} already exists as a directory`);
      if (existing && query.get('overwrite') !== 'true') throw forbidden('FileAlreadyExistsException', `${hdfsPath} for client 127.0.0.1 already exists`);
      await checkAncestors(hdfsPath);
      if (query.get('createparent') !== 'false') await mkdirs(path.posix.dirname(hdfsPath), user);
      else if (!(await statOf(path.posix.dirname(hdfsPath)))) throw notFound(`Parent directory doesn't exist: ${path.posix.dirname(hdfsPath)}`);
      owners.set(hdfsPath, user);
      try {
        await pipeline(req, createWriteStream(localPath(hdfsPath)));
      } catch {
        return; // the client went away mid-upload; what arrived stays, as in HDFS until lease recovery
      }
      res.writeHead(201, { Location: `hdfs://localhost:8020${encodePath(hdfsPath)}`, 'Content-Length': '0' });
      return res.end();
    }
    if (op === 'OPEN' && req.method === 'GET') {
      req.resume();
      const info = await statOf(hdfsPath);
      if (!info?.isFile()) throw notFound(`File does not exist: ${hdfsPath}`);
      const offset = Number(query.get('offset') ?? 0);
      const length = query.has('length') ? Number(query.get('length')) : info.size - offset;
      const end = Math.min(info.size, offset + length);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(Math.max(0, end - offset)) });
      if (end <= offset) return res.end();
      return pipeline(createReadStream(localPath(hdfsPath), { start: offset, end: end - 1 }), res).catch(() => undefined);
    }
    req.resume();
    throw badRequest('IllegalArgumentException', `Invalid operation ${req.method} ${op} for a datanode`);
  }

  const handler = (node: 'namenode' | 'datanode') => async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const op = (url.searchParams.get('op') ?? '').toUpperCase();
    const user = url.searchParams.get('user.name');
    let hdfsPath = '';
    try {
      if (!url.pathname.startsWith('/webhdfs/v1')) throw badRequest('IllegalArgumentException', `Not a WebHDFS path: ${url.pathname}`);
      hdfsPath = checkPath(
        '/' +
          url.pathname
            .slice('/webhdfs/v1'.length)
            .split('/')
            .filter(Boolean)
            .map((s) => decodeURIComponent(s))
            .join('/'),
      );
      requests.push({ node, method: req.method ?? '', op, path: hdfsPath, user });
      const effectiveUser = user ?? 'dr.who';
      if (node === 'namenode') await namenode(req, res, hdfsPath, op, url.searchParams, effectiveUser);
      else await datanode(req, res, hdfsPath, op, url.searchParams, effectiveUser);
    } catch (e) {
      req.resume();
      const remote = e instanceof RemoteException ? e : new RemoteException(500, 'IOException', (e as Error).message);
      if (!res.headersSent) {
        json(res, remote.status, {
          RemoteException: { exception: remote.exception, javaClassName: JAVA_CLASSES[remote.exception] ?? 'java.io.IOException', message: remote.message },
        });
      } else {
        res.destroy();
      }
    }
  };

  const namenodeServer = createServer(handler('namenode'));
  const datanodeServer = createServer(handler('datanode'));
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const namenodeUrl = await listen(namenodeServer);
  const datanodeUrl = await listen(datanodeServer);
  const stop = async (server: Server) => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };

  return {
    namenodeUrl,
    datanodeUrl,
    dataDir,
    requests,
    localPath,
    stopDatanode: () => stop(datanodeServer),
    close: async () => {
      await stop(namenodeServer);
      await stop(datanodeServer);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** HDFS's own path rules (DFSUtil.isValidName): absolute, no ".", "..", empty or ":"-holding components. */
function checkPath(hdfsPath: string): string {
  const parts = hdfsPath.split('/').slice(1);
  if (hdfsPath !== '/' && parts.some((p) => p === '' || p === '.' || p === '..' || p.includes(':'))) {
    throw badRequest('InvalidPathException', `Invalid path name Invalid file name: ${hdfsPath}`);
  }
  return hdfsPath;
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function encodePath(hdfsPath: string): string {
  return hdfsPath.split('/').map(encodeURIComponent).join('/');
}
