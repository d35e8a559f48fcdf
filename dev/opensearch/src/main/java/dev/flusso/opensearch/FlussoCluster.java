package dev.flusso.opensearch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.codelibs.opensearch.runner.OpenSearchRunner;
import org.opensearch.node.Node;

/**
 * The runner's nodes in one JVM, plus a way to stop and start a single node.
 *
 * <p>The runner's own main can only start or stop the whole cluster; the failure tests need to
 * lose one node while the others keep serving. The arguments are the runner's. Commands arrive
 * on stdin, one per line, and each gets exactly one answer line on stdout:
 *
 * <pre>
 *   stop N    close node N (1-based, the node serving HTTP on base port + N) -> "flusso-cluster ok"
 *   start N   start node N again, on its old data path and port           -> "flusso-cluster ok"
 *   anything that fails                                                  -> "flusso-cluster error ..."
 * </pre>
 *
 * <p>stdout carries answers only (the runner's and OpenSearch's output goes to stderr), so the
 * controller never has to tell a log line from an answer. When stdin ends, the controlling
 * process is gone, and the cluster goes with it instead of lingering without an owner.
 */
public final class FlussoCluster {
    private static final String ANSWER = "flusso-cluster ";
    private static final long CLOSE_TIMEOUT_SECONDS = 30;

    private FlussoCluster() {
    }

    public static void main(String[] args) {
        PrintStream answers = System.out;
        System.setOut(System.err);
        OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeAll(runner)));
        try {
            runner.build(args);
            BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = commands.readLine(); line != null; line = commands.readLine()) {
                answers.println(ANSWER + execute(runner, line.trim()));
                answers.flush();
            }
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1); // the nodes' threads would otherwise keep a broken cluster alive
        }
        System.exit(0);
    }

    /** Runs one command; the answer starts with "ok" or "error". */
    static String execute(OpenSearchRunner runner, String command) {
        String[] words = command.split("\\s+");
        if (words.length != 2 || !words[1].matches("[0-9]+")) {
            return "error expected 'stop N' or 'start N', got '" + command + "'";
        }
        int node = Integer.parseInt(words[1]);
        if (node < 1 || node > runner.getNodeSize()) {
            return "error no node " + node + " in a cluster of " + runner.getNodeSize();
        }
        try {
            switch (words[0]) {
                case "stop":
                    return stop(runner.getNode(node - 1));
                case "start":
                    return runner.startNode(node - 1) ? "ok" : "error node " + node + " is running or failed to start";
                default:
                    return "error unknown command '" + words[0] + "'";
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "error " + e;
        }
    }

    /** Closes a node and waits until it has released its ports and data path, so that a start
     * that follows can take them again. */
    private static String stop(Node node) throws IOException, InterruptedException {
        if (node.isClosed()) {
            return "error node is already stopped";
        }
        node.close();
        return node.awaitClose(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS) ? "ok" : "error node did not close in time";
    }

    private static void closeAll(OpenSearchRunner runner) {
        try {
            runner.close();
        } catch (IOException e) {
            e.printStackTrace();
        }
    }
}
