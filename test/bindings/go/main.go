// The README's Python example in Go: the same stack, pipeline and props, through the generated Go module.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/example/cdk-migration-pipeline-go/cdkmigrationpipeline"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Migration"), &awscdk.StackProps{
		Env: &awscdk.Environment{Region: jsii.String("us-west-2")},
	})
	pipeline := cdkmigrationpipeline.NewMigrationPipeline(stack, jsii.String("Pipeline"), &cdkmigrationpipeline.MigrationPipelineProps{
		EnvironmentSuffix: jsii.String("prod"),
		Network: &cdkmigrationpipeline.NetworkOptions{
			AvailabilityZones: jsii.Strings("us-west-2a", "us-west-2b"),
			NatGateways:       jsii.Number(2),
		},
	})
	pipeline.AddOperatorOutputs(nil)
	app.Synth(nil)
}
