import java.lang.reflect.Field;

/**
 * Starts DynamoDB Local listening on 127.0.0.1 only (it binds every interface by default).
 *
 * ServerRunner.createServerFromCommandLineArgs(args) builds a DynamoDBProxyServer without starting
 * it; its Jetty Server sits in a private final field ("server" in 1.25.1, found here by type). Each
 * connector gets host 127.0.0.1 before start(). Reflection only, so this compiles without DynamoDB
 * Local or Jetty on the classpath.
 *
 * DynamoDBProxyServer.start() catches a bind failure, prints it and stops Jetty without throwing,
 * and DynamoDB Local's own main then keeps the JVM alive; here a server that did not start ends
 * the process with status 3, so infra/stack.sh can retry on another port. Once listening it prints
 * "DynamoDB Local listening on 127.0.0.1:PORT" (stack.sh waits for that line: it proves that this
 * process, not another one, owns the port).
 */
public final class DynamoDbLocalLauncher {
    private static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        Class<?> runner = Class.forName("com.amazonaws.services.dynamodbv2.local.main.ServerRunner");
        Object proxy = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
        Object server = jettyServer(proxy);
        Object[] connectors = (Object[]) server.getClass().getMethod("getConnectors").invoke(server);
        if (connectors.length == 0) {
            fail("DynamoDB Local has no connectors to bind");
        }
        for (Object connector : connectors) {
            connector.getClass().getMethod("setHost", String.class).invoke(connector, HOST);
            // Jetty's default accept queue of 50 drops connections in a 2,000-request rush.
            connector.getClass().getMethod("setAcceptQueueSize", int.class).invoke(connector, 4096);
        }
        try {
            proxy.getClass().getMethod("start").invoke(proxy);
        } catch (Exception e) {
            fail("DynamoDB Local failed to start: " + (e.getCause() != null ? e.getCause() : e));
        }
        if (!(Boolean) server.getClass().getMethod("isStarted").invoke(server)) {
            fail("DynamoDB Local did not start (port taken?)");
        }
        for (Object connector : connectors) {
            Object host = connector.getClass().getMethod("getHost").invoke(connector);
            Object port = connector.getClass().getMethod("getLocalPort").invoke(connector);
            System.out.println("DynamoDB Local listening on " + host + ":" + port);
        }
        System.out.flush();
        proxy.getClass().getMethod("join").invoke(proxy);
    }

    /** The proxy's Jetty Server, found by its type rather than by the private field's name. */
    private static Object jettyServer(Object proxy) throws Exception {
        for (Class<?> c = proxy.getClass(); c != null; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                if (field.getType().getName().equals("org.eclipse.jetty.server.Server")) {
                    field.setAccessible(true);
                    return field.get(proxy);
                }
            }
        }
        fail("no org.eclipse.jetty.server.Server field in " + proxy.getClass().getName());
        return null;
    }

    private static void fail(String message) {
        System.err.println(message);
        System.exit(3);
    }
}
