int hello_origin(void);

int main(void)
{
	return hello_origin();
}
