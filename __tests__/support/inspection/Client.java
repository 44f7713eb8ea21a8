// The lab's Java client: java.net.http.HttpClient through the JDK's default ProxySelector (https.proxyHost/Port).
// Exit 0 on HTTP 200, 3 on another status, 1 on an exception (whose cause chain goes to stderr).
import java.net.Authenticator;
import java.net.PasswordAuthentication;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class Client {
  public static void main(String[] args) {
    // HttpClient.newHttpClient() uses no proxy at all; the default selector reads the system properties.
    HttpClient.Builder builder = HttpClient.newBuilder().proxy(ProxySelector.getDefault()).connectTimeout(Duration.ofSeconds(15));
    String user = System.getProperty("lab.proxyUser");
    if (user != null) {
      String password = System.getProperty("lab.proxyPassword", "");
      builder.authenticator(new Authenticator() {
        @Override
        protected PasswordAuthentication getPasswordAuthentication() {
          return getRequestorType() == RequestorType.PROXY ? new PasswordAuthentication(user, password.toCharArray()) : null;
        }
      });
    }
    try {
      HttpResponse<String> response = builder.build().send(
          HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString());
      System.out.println(response.statusCode() + " " + response.body().trim());
      System.exit(response.statusCode() == 200 ? 0 : 3);
    } catch (Exception e) {
      for (Throwable t = e; t != null; t = t.getCause()) System.err.println(t);
      System.exit(1);
    }
  }
}
