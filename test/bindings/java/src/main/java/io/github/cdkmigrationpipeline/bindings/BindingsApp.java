package io.github.cdkmigrationpipeline.bindings;

import io.github.cdkmigrationpipeline.MigrationPipeline;
import io.github.cdkmigrationpipeline.NetworkOptions;
import java.util.List;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;

/** The README's Python example in Java: the same stack, pipeline and props, through the Maven artifact. */
public final class BindingsApp {
    private BindingsApp() {
    }

    public static void main(final String[] args) {
        App app = new App();
        Stack stack = Stack.Builder.create(app, "Migration")
                .env(Environment.builder().region("us-west-2").build())
                .build();
        MigrationPipeline pipeline = MigrationPipeline.Builder.create(stack, "Pipeline")
                .environmentSuffix("prod")
                .network(NetworkOptions.builder()
                        .availabilityZones(List.of("us-west-2a", "us-west-2b"))
                        .natGateways(2)
                        .build())
                .build();
        pipeline.addOperatorOutputs();
        app.synth();
    }
}
