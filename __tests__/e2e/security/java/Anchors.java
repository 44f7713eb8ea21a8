// The trust anchors a real JVM takes from a store: TrustManagerFactory (the default PKIX algorithm) over it, printed as SHA-256.
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
public class Anchors {
  public static void main(String[] a) throws Exception {
    KeyStore ks = KeyStore.getInstance(a[1]);
    try (FileInputStream in = new FileInputStream(a[0])) { ks.load(in, a.length > 2 ? a[2].toCharArray() : null); }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (var tm : tmf.getTrustManagers()) if (tm instanceof X509TrustManager x) for (X509Certificate c : x.getAcceptedIssuers()) {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
      StringBuilder sb = new StringBuilder(); for (byte b : d) sb.append(String.format("%02x", b)); System.out.println(sb);
    }
  }
}
