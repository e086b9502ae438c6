package io.clipdb;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, made for the test. */
final class Certificates {
  final Path ca;
  final Path serverCert;
  final Path serverKey;
  /** A client certificate signed by the same CA, for mutual TLS. */
  final Path clientCert;
  final Path clientKey;

  private Certificates(Path dir) {
    this.ca = dir.resolve("ca.pem");
    this.serverCert = dir.resolve("server.pem");
    this.serverKey = dir.resolve("server.key");
    this.clientCert = dir.resolve("client.pem");
    this.clientKey = dir.resolve("client.key");
  }

  static Certificates create(Path dir) {
    try {
      Files.createDirectories(dir);
      KeyPair caKey = ecKey();
      X500Name caName = new X500Name("CN=clipdb test CA");
      X509Certificate ca = sign(new JcaX509v3CertificateBuilder(caName, serial(), notBefore(),
          notAfter(), caName, caKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true,
              new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign | KeyUsage.cRLSign)),
          caKey);
      KeyPair key = ecKey();
      X509Certificate cert = sign(new JcaX509v3CertificateBuilder(caName, serial(), notBefore(),
          notAfter(), new X500Name("CN=localhost"), key.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
              new GeneralName[] {new GeneralName(GeneralName.dNSName, "localhost"),
                  new GeneralName(GeneralName.iPAddress, "127.0.0.1")})),
          caKey);
      KeyPair clientKey = ecKey();
      X509Certificate client = sign(new JcaX509v3CertificateBuilder(caName, serial(),
          notBefore(), notAfter(), new X500Name("CN=clipdb test client"), clientKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth)),
          caKey);
      Certificates c = new Certificates(dir);
      Files.write(c.ca, pem("CERTIFICATE", ca.getEncoded()));
      Files.write(c.serverCert, pem("CERTIFICATE", cert.getEncoded()));
      Files.write(c.serverKey, pem("PRIVATE KEY", key.getPrivate().getEncoded()));  // PKCS#8
      Files.write(c.clientCert, pem("CERTIFICATE", client.getEncoded()));
      Files.write(c.clientKey, pem("PRIVATE KEY", clientKey.getPrivate().getEncoded()));
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make test certificates", e);
    }
  }

  private static KeyPair ecKey() throws GeneralSecurityException {
    // BouncyCastle's PKCS#8 keeps the public key inside, which the server's TLS
    // library (rustls / ring) requires; the JDK's leaves it out
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", new BouncyCastleProvider());
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair issuer)
      throws GeneralSecurityException, OperatorCreationException {
    return new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
  }

  private static BigInteger serial() {
    return new BigInteger(64, new SecureRandom()).add(BigInteger.ONE);
  }

  private static Date notBefore() {
    return Date.from(Instant.now().minus(Duration.ofMinutes(5)));
  }

  private static Date notAfter() {
    return Date.from(Instant.now().plus(Duration.ofDays(1)));
  }

  private static byte[] pem(String type, byte[] der) {
    String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
    return ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }
}
