/**
 * Throwaway certificates for the TLS tests, made with openssl: a CA and a server certificate for
 * 127.0.0.1 and localhost, and an unrelated CA a client must not trust.
 */

/** The files `makeCertificates` writes. */
export interface Certificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A CA that did not sign the server's certificate. */
  readonly otherCa: string;
  /** A certificate (and its key) from the same CA for another name only: credd.elsewhere.example. */
  readonly otherNameCert: string;
  readonly otherNameKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes a CA and a server certificate (SAN 127.0.0.1, localhost) in `dir`. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  await Deno.writeTextFile(
    `${dir}/san.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  for (const name of ["ca", "other-ca"]) {
    await openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=test ${name}`,
    ]);
  }
  await Deno.writeTextFile(
    `${dir}/san-elsewhere.cnf`,
    "subjectAltName=DNS:credd.elsewhere.example\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  for (
    const [name, cn, ext] of [["server", "localhost", "san.cnf"], [
      "elsewhere",
      "credd.elsewhere.example",
      "san-elsewhere.cnf",
    ]]
  ) {
    await openssl(dir, [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      ext,
    ]);
  }
  await Deno.chmod(`${dir}/elsewhere.key`, 0o600);
  await Deno.chmod(`${dir}/server.key`, 0o600);
  for (const f of ["ca.pem", "other-ca.pem", "server.pem", "elsewhere.pem"]) {
    await Deno.chmod(`${dir}/${f}`, 0o644);
  }
  return {
    ca: `${dir}/ca.pem`,
    cert: `${dir}/server.pem`,
    key: `${dir}/server.key`,
    otherCa: `${dir}/other-ca.pem`,
    otherNameCert: `${dir}/elsewhere.pem`,
    otherNameKey: `${dir}/elsewhere.key`,
  };
}
