import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Properties;

/** Loads a properties file exactly as Jenkins' readProperties does (Properties.load) and prints base64 pairs. */
public class LoadProperties {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      p.load(in);
    }
    Base64.Encoder b = Base64.getEncoder();
    for (String k : p.stringPropertyNames()) {
      System.out.println(b.encodeToString(k.getBytes(StandardCharsets.UTF_8)) + " " + b.encodeToString(p.getProperty(k).getBytes(StandardCharsets.UTF_8)));
    }
  }
}
