"""A small Assistants program, polling and streaming, as it was written against the real API.

Offline against the mock:

    make run                                   # in one terminal
    OPENAI_BASE_URL=http://127.0.0.1:4010/v1 OPENAI_API_KEY=sk-mock python examples/assistant.py

Nothing in it knows about the mock: it reads OPENAI_BASE_URL and OPENAI_API_KEY like any SDK program.
"""

from __future__ import annotations

import json
import warnings

from openai import AssistantEventHandler, OpenAI
from openai.types.beta.threads import Run, Text, TextDelta
from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput

# The SDK marks the Assistants API deprecated; this program uses it on purpose.
warnings.filterwarnings("ignore", category=DeprecationWarning)


def get_weather(city: str) -> str:
    return f"22C and sunny in {city}"


class Printer(AssistantEventHandler):
    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        print(delta.value, end="", flush=True)

    def on_text_done(self, text: Text) -> None:
        print()


def answer_tool_calls(client: OpenAI, run: Run) -> Run:
    """Runs the function tools the assistant asked for and hands their outputs back."""
    assert run.required_action is not None
    outputs: list[ToolOutput] = []
    for call in run.required_action.submit_tool_outputs.tool_calls:
        arguments = json.loads(call.function.arguments)
        print(f"tool call: {call.function.name}({arguments})")
        outputs.append({"tool_call_id": call.id, "output": get_weather(**arguments)})
    return client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs
    )


def main() -> None:
    client = OpenAI()
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        name="Weather helper",
        instructions="Answer briefly. Use get_weather for the weather.",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                },
            }
        ],
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is the weather in Paris?"}])

    # Polling: create the run, wait for it, answer its tool calls, read the reply.
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    if run.status == "requires_action":
        run = answer_tool_calls(client, run)
    print(f"polled run: {run.status}")
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    for part in reply.content:
        if part.type == "text":
            print(f"assistant: {part.text.value}")

    # Streaming: the next question, the answer printed as it arrives.
    client.beta.threads.messages.create(thread.id, role="user", content="Thanks! Anything else?")
    print("assistant (streamed): ", end="")
    runs = client.beta.threads.runs
    with runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=Printer()) as stream:
        stream.until_done()
        print(f"streamed run: {stream.get_final_run().status}")


if __name__ == "__main__":
    main()
