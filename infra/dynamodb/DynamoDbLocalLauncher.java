import java.lang.reflect.Field;

/**
 * Starts DynamoDB Local listening on 127.0.0.1 only (it binds every interface by default).
 * Reflection only, so it compiles without DynamoDB Local or Jetty on the classpath. A port that
 * cannot be bound ends the process with a non-zero status (DynamoDB Local's own main only logs).
 */
public final class DynamoDbLocalLauncher {
    public static void main(String[] args) throws Exception {
        Class<?> runner = Class.forName("com.amazonaws.services.dynamodbv2.local.main.ServerRunner");
        Object proxy = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
        Field field = proxy.getClass().getDeclaredField("server");
        field.setAccessible(true);
        Object server = field.get(proxy);
        for (Object connector : (Object[]) server.getClass().getMethod("getConnectors").invoke(server)) {
            connector.getClass().getMethod("setHost", String.class).invoke(connector, "127.0.0.1");
            // Jetty's default accept queue of 50 drops connections in a 2,000-request rush.
            connector.getClass().getMethod("setAcceptQueueSize", int.class).invoke(connector, 4096);
        }
        try {
            proxy.getClass().getMethod("start").invoke(proxy);
        } catch (Exception e) {
            System.err.println("DynamoDB Local failed to start: " + e.getCause());
            System.exit(3);
        }
        boolean started = (Boolean) server.getClass().getMethod("isStarted").invoke(server);
        if (!started) {
            System.err.println("DynamoDB Local did not start");
            System.exit(3);
        }
        proxy.getClass().getMethod("join").invoke(proxy);
    }
}
