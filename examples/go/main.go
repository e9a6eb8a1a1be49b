// Ask gavel for a decision from Go with the generated client (github.com/gavel-pdp/gavel/gen/go),
// and read a refusal's stable code with gRPC's standard status details.
//
//	cd examples/go && go run . 127.0.0.1:50051
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	gavelv1 "github.com/gavel-pdp/gavel/gen/go/gavel/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	target := "127.0.0.1:50051"
	if len(os.Args) > 1 {
		target = os.Args[1]
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	decisions := gavelv1.NewDecisionServiceClient(conn)
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-gavel-caller", "go-example"), 5*time.Second)
	defer cancel()

	input, _ := json.Marshal(map[string]any{
		"subject": map[string]any{"id": "alice", "type": "user", "roles": []string{"employee"}, "team": "platform", "cost_center": "cc-100"},
		"action":  map[string]any{"type": "model.invoke", "model": "standard-m", "params": map[string]any{"max_tokens": 256}},
		"content": map[string]any{"prompt": "Summarise this"},
	})
	answer, err := decisions.Decide(ctx, &gavelv1.DecideRequest{Input: &gavelv1.DecideRequest_InputJson{InputJson: input}, RequestId: "go-1"})
	if err != nil {
		log.Fatal(err)
	}
	codes := []string{}
	for _, r := range answer.Reasons {
		codes = append(codes, r.Code)
	}
	out, _ := json.Marshal(map[string]any{"decision": answer.Decision.String(), "reasons": codes, "decision_id": answer.DecisionId, "seq": answer.Receipt.Seq})
	fmt.Println(string(out))

	// A refusal: the stable code is the reason of a google.rpc.ErrorInfo in the status details.
	_, err = decisions.Decide(ctx, &gavelv1.DecideRequest{Input: &gavelv1.DecideRequest_InputJson{InputJson: []byte("[1, 2]")}})
	st := status.Convert(err)
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			out, _ := json.Marshal(map[string]any{"status": st.Code().String(), "reason": info.Reason, "domain": info.Domain, "retryable": info.Metadata["retryable"]})
			fmt.Println(string(out))
		}
	}
}
